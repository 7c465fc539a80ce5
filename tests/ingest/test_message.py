import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from indexer.item import DERIVED_FIELDS, CatalogItem, item_id, photo_sha256
from ingest.dead_letter import DeadLetter
from ingest.errors import RecordRejected
from ingest.message import DeleteMessage, UpsertMessage, encode_message, parse_message
from ingest.schema import SCHEMA_FILE, schema_text


def upsert_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "schema_version": 1,
        "op": "upsert",
        "product_id": "P1",
        "title": "Red linen dress",
        "brand": "Acme",
        "category": "dress",
        "colour": "red",
        "price": 49.5,
        "currency": "EUR",
        "product_url": "https://shop.example/p/1",
        "image_url": "https://shop.example/img/1.jpg",
        "source_site": "shop.example",
        "crawled_at": "2026-01-02T03:04:05+01:00",
    }
    return {**fields, **overrides}


def test_upsert_round_trips_through_json() -> None:
    message = parse_message(json.dumps(upsert_fields(image_b64=base64.b64encode(b"jpeg").decode())))
    assert isinstance(message, UpsertMessage)
    assert message.crawled_at == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert message.image_bytes() == b"jpeg"
    assert parse_message(encode_message(message)) == message


def test_delete_needs_only_the_product() -> None:
    assert parse_message(b'{"schema_version": 1, "op": "delete", "product_id": "P1"}') == DeleteMessage(
        schema_version=1, op="delete", product_id="P1"
    )


def test_a_delete_may_say_when_in_any_time_zone() -> None:
    raw = b'{"schema_version": 1, "op": "delete", "product_id": "P1", "deleted_at": "2026-01-02T04:00:00+01:00"}'
    message = parse_message(raw)
    assert isinstance(message, DeleteMessage) and message.deleted_at == datetime(2026, 1, 2, 3, tzinfo=UTC)
    with pytest.raises(RecordRejected, match="deleted_at"):  # naive: ambiguous
        parse_message(raw.replace(b"+01:00", b""))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (json.dumps(upsert_fields(schema_version=2)).encode(), "unsupported schema_version 2"),
        (json.dumps({k: v for k, v in upsert_fields().items() if k != "title"}).encode(), "title: Field required"),
        (json.dumps(upsert_fields(op="rename")).encode(), "invalid message"),
        (json.dumps(upsert_fields(price=-1)).encode(), "price"),
        (json.dumps(upsert_fields(price=1)).replace('"price": 1', '"price": 1e999').encode(), "finite number"),
        (json.dumps(upsert_fields(image_url="file:///etc/passwd")).encode(), "image_url"),
        (json.dumps(upsert_fields(extra=1)).encode(), "extra: Extra inputs are not permitted"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(RecordRejected) as caught:
        parse_message(raw)
    assert caught.value.stage == "parse"
    assert reason in caught.value.reason


def test_invalid_base64_is_rejected() -> None:
    message = parse_message(json.dumps(upsert_fields(image_b64="not base64!")))
    assert isinstance(message, UpsertMessage)
    with pytest.raises(RecordRejected, match="not valid base64"):
        message.image_bytes()


def test_to_item_builds_the_catalog_item() -> None:
    message = parse_message(json.dumps(upsert_fields(image_b64="AAAA")))
    assert isinstance(message, UpsertMessage)
    item = message.without_image().to_item(photo_sha256(b"x"), "v1")
    assert item.product_id == "P1" and item.model_version == "v1" and item.photo_sha256 == photo_sha256(b"x")
    assert item.id == item_id("P1", photo_sha256(b"x"))
    assert message.without_image().image_b64 is None


def test_message_carries_every_catalog_field_but_the_derived_ones() -> None:
    carried = set(UpsertMessage.model_fields) - {"schema_version", "op", "image_b64"}
    assert carried == set(CatalogItem.model_fields) - set(DERIVED_FIELDS)


def test_schema_file_is_current() -> None:
    """Regenerate with `python -m ingest.schema` after changing the message."""
    assert SCHEMA_FILE.read_text() == schema_text()


def test_dead_letter_keeps_the_original_message() -> None:
    record = DeadLetter.of(b"{bad \xff", "parse", "not JSON", source="images/0/7")
    decoded = json.loads(record.encode())
    assert decoded["message"] == "{bad \ufffd" and decoded["stage"] == "parse" and decoded["source"] == "images/0/7"
    assert datetime.fromisoformat(decoded["failed_at"]).tzinfo is not None
    assert datetime.now(UTC) - record.failed_at < timedelta(seconds=5)
    assert record.failed_at.utcoffset() == timedelta(0)


def test_an_undated_delete_takes_its_publishing_time_and_a_dated_one_keeps_its_own() -> None:
    published = datetime(2026, 5, 1, tzinfo=UTC)
    undated = DeleteMessage(schema_version=1, op="delete", product_id="P1")
    own = datetime(2026, 4, 1, tzinfo=UTC)
    assert undated.dated(published).deleted_at == published
    assert undated.model_copy(update={"deleted_at": own}).dated(published).deleted_at == own
