import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from embedder import Embedder
from embedder.rerank import grey_thumbnail, thumbnail_from_text
from indexer.catalog_index import CatalogIndex
from indexer.item import photo_sha256
from indexer.metadata_store import MetadataStore
from indexer.retry import RetryPolicy
from indexer.vector_store import VectorStore
from ingest.errors import RecordRejected
from ingest.message import DeleteMessage, UpsertMessage, parse_message
from ingest.stages import (
    IndexOp,
    apply_index_ops,
    image_bytes,
    original_message,
    pixels_from_text,
    pixels_to_text,
    prepare,
    vector_from_text,
    vector_to_text,
    written_statuses,
)
from tests.embedder.test_colour import photo
from tests.indexer.conftest import make_item, metadata_store, model_version, unit_vectors, vector_store  # noqa: F401
from tests.ingest.test_message import upsert_fields
from tests.synthetic import coloured_image, jpeg_bytes, tiny_model_config


def _message(**fields: object) -> UpsertMessage:
    return UpsertMessage.model_validate(upsert_fields(**fields))


def test_inline_bytes_are_used_without_fetching() -> None:
    def no_fetch(url: str) -> bytes:
        raise AssertionError("must not fetch")

    assert image_bytes(_message(image_b64="AAAA"), no_fetch, 100) == b"\x00\x00\x00"


def test_fetched_bytes_over_the_limit_are_rejected() -> None:
    with pytest.raises(RecordRejected, match="exceeds the limit of 10"):
        image_bytes(_message(), lambda url: bytes(11), 10)


def test_prepare_decodes_to_the_model_input_and_ids_by_content() -> None:
    data = jpeg_bytes(coloured_image((200, 10, 10), seed=1))
    config = tiny_model_config()
    prepared = prepare(_message(image_b64="AAAA"), data, config)
    assert prepared.pixels.shape == (3, config.image_height, config.image_width)
    assert prepared.photo_sha256 == photo_sha256(data) and prepared.message.image_b64 is None
    assert np.array_equal(pixels_from_text(pixels_to_text(prepared.pixels), config), prepared.pixels)
    assert np.array_equal(thumbnail_from_text(prepared.thumbnail), grey_thumbnail(data))  # what the re-ranker reads


def test_a_message_without_a_colour_gets_the_photo_s_and_a_given_colour_is_kept() -> None:
    """Crawlers may leave the colour out: the decode stage derives it (the garment's, not the background's)."""
    navy_shirt_on_beige = photo((20, 30, 80), (215, 200, 175))
    fields = upsert_fields(image_b64="AAAA")
    del fields["colour"]
    message = parse_message(json.dumps(fields))
    assert isinstance(message, UpsertMessage) and message.colour is None
    assert prepare(message, navy_shirt_on_beige, tiny_model_config()).message.colour == "blue"
    given = message.model_copy(update={"colour": "midnight"})
    assert prepare(given, navy_shirt_on_beige, tiny_model_config()).message.colour == "midnight"


@pytest.mark.parametrize("data", [b"", b"plain text", jpeg_bytes(coloured_image((0, 0, 200), seed=2))[:300]])
def test_unusable_images_are_rejected_at_decode(data: bytes) -> None:
    with pytest.raises(RecordRejected) as caught:
        prepare(_message(), data, tiny_model_config())
    assert caught.value.stage == "decode"


def test_embedding_prepared_pixels_matches_embedding_the_bytes(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint)
    data = jpeg_bytes(coloured_image((20, 200, 20), seed=3))
    prepared = prepare(_message(), data, embedder.config)
    np.testing.assert_allclose(embedder.embed_pixels(prepared.pixels[None]), embedder.embed([data]), atol=1e-6)
    assert json.loads(prepared.message.model_dump_json())["product_id"] == "P1"


def test_vectors_travel_as_text_exactly() -> None:
    vector = np.random.default_rng(0).normal(size=128).astype(np.float32)
    text = vector_to_text(vector)
    assert len(text) < 700
    restored = vector_from_text(text)
    assert restored.dtype == np.float32
    assert np.array_equal(restored, vector)


@pytest.mark.integration
def test_only_the_record_solr_refuses_is_rejected(
    vector_store: VectorStore,  # noqa: F811
    metadata_store: MetadataStore,  # noqa: F811
    make_item,  # noqa: F811
) -> None:
    items = [make_item(n) for n in range(4)]
    items[2] = items[2].model_copy(update={"currency": "X" * 40_000})  # an immense term: Solr answers 400
    ops = [IndexOp(item=item, vector=vector) for item, vector in zip(items, unit_vectors(4), strict=True)]
    rejected = apply_index_ops(CatalogIndex(vector_store, metadata_store, RetryPolicy(attempts=1)), ops)
    assert list(rejected) == [2] and rejected[2].stage == "index"
    vector_store.flush()
    metadata_store.refresh()
    good = {items[n].id for n in (0, 1, 3)}
    assert set(vector_store.get_vectors([item.id for item in items])) == good
    assert metadata_store.searchable_ids([item.id for item in items]) == good


def test_an_index_op_gives_back_the_message_it_came_from() -> None:
    message = _message(image_b64="AAAA")
    item = message.to_item(photo_sha256(b"\x00\x00\x00"), "v1")
    restored = parse_message(original_message(IndexOp(item=item, vector=np.zeros(4, dtype=np.float32))))
    assert restored == message.without_image()
    delete = parse_message(original_message(IndexOp(delete_product="P9")))
    assert delete == DeleteMessage(schema_version=1, op="delete", product_id="P9")
    at = datetime(2026, 1, 2, tzinfo=UTC)
    dated = parse_message(original_message(IndexOp(delete_product="P9", deleted_at=at)))
    assert dated == DeleteMessage(schema_version=1, op="delete", product_id="P9", deleted_at=at)


class _RecordingIndex:
    """Records the delete calls apply_index_ops makes (a stand-in for CatalogIndex, not for a store)."""

    def __init__(self) -> None:
        self.deletes: list[dict[str, datetime]] = []

    def delete_products(self, deleted: dict[str, datetime]) -> list[str]:
        self.deletes.append(deleted)
        return []


def test_consecutive_deletes_are_one_store_call_dated_by_the_latest_of_each_product() -> None:
    index = _RecordingIndex()
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    ops = [IndexOp(delete_product="P1", deleted_at=late), IndexOp(delete_product="P2", deleted_at=early)]
    ops += [IndexOp(delete_product="P1", deleted_at=early), IndexOp(delete_product="P3")]
    before = datetime.now(UTC)
    assert apply_index_ops(index, ops) == {}  # type: ignore[arg-type]
    [deleted] = index.deletes
    assert list(deleted) == ["P1", "P2", "P3"] and (deleted["P1"], deleted["P2"]) == (late, early)
    assert deleted["P3"] >= before  # a delete without deleted_at is dated when it is applied


def test_each_written_op_gives_its_product_status_in_order() -> None:
    item = _message(product_id="P1").to_item(photo_sha256(b"photo"), "v1")
    rejected_item = _message(product_id="P2").to_item(photo_sha256(b"other"), "v1")
    ops = [IndexOp(item=item, vector=np.zeros(4, dtype=np.float32)), IndexOp(delete_product="P3"),
           IndexOp(item=rejected_item, vector=np.zeros(4, dtype=np.float32))]  # fmt: skip
    statuses = written_statuses(ops, {2: RecordRejected("index", "refused")})
    assert [(s.product_id, s.state) for s in statuses] == [("P1", "searchable"), ("P3", "deleted")]
    assert [(p.id, p.image_url) for p in statuses[0].items] == [(item.id, item.image_url)]
    assert statuses[0].model_version == "v1"
