from datetime import UTC, datetime

import numpy as np
import pysolr
import pytest

from indexer.catalog_index import CatalogIndex
from indexer.errors import DimensionMismatch, StoreRequestRejected, StoreUnavailable
from indexer.metadata_store import MetadataStore
from indexer.retry import RetryPolicy
from indexer.vector_store import STRING_FIELDS, VectorStore
from tests.indexer.conftest import DIM, unit_vectors

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=2, initial_delay_s=0.05)
NOW = datetime.now(UTC)
JAN, FEB, MAR = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def test_a_write_reaches_both_stores(vector_store: VectorStore, metadata_store: MetadataStore, make_item) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    items = [make_item(n) for n in range(20)]
    index.upsert(items, unit_vectors(20))
    index.upsert(items, unit_vectors(20))  # a retried batch changes nothing
    index.flush()
    assert vector_store.count() == metadata_store.count() == 20
    index.delete([items[0].id])
    metadata_store.refresh()
    assert vector_store.count() == metadata_store.count() == 19


def test_solr_down_writes_nothing_and_the_batch_can_be_retried(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item, dead_port: int
) -> None:
    down = MetadataStore(pysolr.Solr(f"http://127.0.0.1:{dead_port}/solr/catalog", timeout=2))
    items, vectors = [make_item(n) for n in range(3)], unit_vectors(3)
    with pytest.raises(StoreUnavailable, match="Solr get"):  # the stored versions are read first
        CatalogIndex(vector_store, down, FAST).upsert(items, vectors)
    assert vector_store.count() == 0
    CatalogIndex(vector_store, metadata_store, FAST).upsert(items, vectors)
    assert set(metadata_store.get([item.id for item in items])) == {item.id for item in items}
    assert vector_store.count() == 3


def test_wrong_dimension_writes_nothing(vector_store: VectorStore, metadata_store: MetadataStore, make_item) -> None:
    with pytest.raises(DimensionMismatch):
        CatalogIndex(vector_store, metadata_store, FAST).upsert([make_item(0)], unit_vectors(1, dim=DIM * 2))
    assert metadata_store.get([make_item(0).id]) == {}
    assert vector_store.count() == 0


def test_items_of_another_model_are_refused(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    with pytest.raises(ValueError, match="model"):
        CatalogIndex(vector_store, metadata_store, FAST).upsert([make_item(0, model_version="other")], unit_vectors(1))


def test_delete_products_removes_every_photo_of_a_product_just_written(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    items = [make_item(n, product_id="P-two-photos" if n < 2 else f"P{n}") for n in range(4)]
    index.upsert(items, unit_vectors(4))  # not committed in Solr yet: delete_products must still find them
    index.delete_products({"P-two-photos": NOW, "no-such-product": NOW})
    index.flush()
    assert vector_store.count() == metadata_store.count() == 2


def test_replaying_a_delete_that_reached_solr_only_removes_the_vectors(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    items = [make_item(n, product_id="P-gone") for n in range(2)]
    index.upsert(items, unit_vectors(2))
    metadata_store.delete([item.id for item in items])  # a delete that stopped after Solr
    index.delete_products({"P-gone": NOW})  # its replay
    index.flush()
    assert vector_store.count() == metadata_store.count() == 0


def test_a_deleted_product_leaves_every_model_versions_collection(
    milvus_uri: str, vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    older = VectorStore.connect(
        milvus_uri, f"{vector_store.model_version}-older", DIM, collection_prefix=vector_store.collection_prefix
    )
    try:
        older.upsert([make_item(0, model_version=older.model_version)], unit_vectors(1))
        index = CatalogIndex(vector_store, metadata_store, FAST)
        index.upsert([make_item(0), make_item(1)], unit_vectors(2))
        index.delete_products({"P0": NOW})
        index.flush()
        older.flush()
        assert (older.count(), vector_store.count()) == (0, 1)
    finally:
        older.drop()


def test_non_latin_text_up_to_the_contract_limits_is_stored(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    item = make_item(0, brand="品" * 256, category="類" * 128, colour="色" * 64, source_site="サ" * 128)
    CatalogIndex(vector_store, metadata_store, FAST).upsert([item], unit_vectors(1))
    vector_store.flush()
    assert list(vector_store.get_vectors([item.id])) == [item.id]
    # milvus-lite counts characters, Milvus standalone bytes: the collection is sized for 4 bytes a character
    fields = vector_store.client.describe_collection(vector_store.collection)["fields"]
    sizes = {f["name"]: int(f["params"]["max_length"]) for f in fields if f["name"] in STRING_FIELDS}
    assert sizes == {"product_id": 1024, "brand": 1024, "category": 512, "colour": 256, "source_site": 512}


def test_a_batch_solr_refuses_is_left_in_neither_store(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    refused = make_item(1).model_copy(update={"currency": "X" * 40_000})  # an immense term: Solr answers 400
    with pytest.raises(StoreRequestRejected):
        index.upsert([make_item(0), refused], unit_vectors(2))
    index.flush()
    assert vector_store.count() == metadata_store.count() == 0


def test_a_late_upsert_of_an_older_crawl_does_not_restore_the_old_version(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    newer = make_item(0, price=20.0, crawled_at=datetime(2026, 3, 1, tzinfo=UTC))
    older = make_item(0, price=10.0, crawled_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert index.upsert([newer, older], unit_vectors(2)) == [older.id]  # in one batch: the newest wins
    assert index.upsert([older], unit_vectors(1, seed=1)) == [older.id]  # later: the stored one is newer
    assert index.get([newer.id])[newer.id].price == 20.0
    np.testing.assert_allclose(vector_store.get_vectors([newer.id])[newer.id], unit_vectors(2)[0], atol=1e-6)
    assert index.upsert([newer], unit_vectors(1, seed=2)) == []  # the same crawl again is written (idempotent)


def _searchable(index: CatalogIndex) -> set[str]:
    """The ids in both stores, once everything written is searchable."""
    index.flush()
    vector_ids, metadata_ids = index.vectors.all_ids(), index.metadata.all_ids()
    assert vector_ids == metadata_ids
    return vector_ids


def test_one_photo_under_two_products_is_two_items_and_deleting_one_keeps_the_other(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    a, b = make_item(0, product_id="PA"), make_item(0, product_id="PB")  # the same photo
    assert a.photo_sha256 == b.photo_sha256 and a.id != b.id
    index.upsert([a, b], unit_vectors(2))
    assert _searchable(index) == {a.id, b.id}
    assert index.delete_products({"PB": NOW}) == []
    assert _searchable(index) == {a.id}


def test_a_newer_crawl_replaces_the_products_photos(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    first_crawl = [make_item(n, product_id="P", crawled_at=JAN) for n in (1, 2)]
    index.upsert(first_crawl[:1], unit_vectors(1))
    index.upsert(first_crawl[1:], unit_vectors(1, seed=1))  # one crawl over two batches: both photos stay
    other = make_item(9, crawled_at=JAN)
    index.upsert([other], unit_vectors(1, seed=2))
    assert _searchable(index) == {first_crawl[0].id, first_crawl[1].id, other.id}
    second_crawl = [make_item(2, product_id="P", crawled_at=FEB), make_item(3, product_id="P", crawled_at=FEB)]
    assert index.upsert(second_crawl, unit_vectors(2, seed=3)) == []
    assert _searchable(index) == {second_crawl[0].id, second_crawl[1].id, other.id}  # photo 1 is gone
    assert index.upsert(first_crawl, unit_vectors(2)) == [item.id for item in first_crawl]  # replayed: stale
    assert index.get([second_crawl[0].id])[second_crawl[0].id].crawled_at == FEB
    third_crawl = [make_item(3, product_id="P", crawled_at=MAR)]  # a crawler removes photo 2: re-publishes 3
    index.upsert(third_crawl, unit_vectors(1, seed=4))
    assert _searchable(index) == {third_crawl[0].id, other.id}


def test_an_upsert_older_than_a_delete_stays_deleted_and_a_newer_one_lists_the_product_again(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    index.upsert([make_item(0, crawled_at=JAN)], unit_vectors(1))
    index.delete_products({"P0": FEB})
    assert _searchable(index) == set()
    late = make_item(0, crawled_at=JAN)  # replayed after the delete
    assert index.upsert([late], unit_vectors(1)) == [late.id]
    assert index.upsert([make_item(0, crawled_at=FEB)], unit_vectors(1)) == [late.id]  # ties go to the delete
    assert _searchable(index) == set()
    relisted = make_item(1, product_id="P0", crawled_at=MAR)
    assert index.upsert([relisted], unit_vectors(1)) == []
    assert _searchable(index) == {relisted.id}
    assert metadata_store.count() == 1 and metadata_store.search().total == 1  # the tombstone is never a hit


def test_a_delete_older_than_the_stored_crawl_is_ignored(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store, FAST)
    newer = make_item(0, crawled_at=MAR)
    index.upsert([newer], unit_vectors(1))
    assert index.delete_products({"P0": FEB}) == ["P0"]  # a late or replayed delete
    assert _searchable(index) == {newer.id}
    assert index.upsert([make_item(0, crawled_at=FEB)], unit_vectors(1)) != []  # still recorded: older stays out
