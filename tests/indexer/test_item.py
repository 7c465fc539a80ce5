from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from indexer.item import item_id, photo_sha256


def test_an_item_is_one_photo_of_one_product() -> None:
    photo = photo_sha256(b"photo")
    assert photo == photo_sha256(b"photo") != photo_sha256(b"photo2") and len(photo) == 64
    assert item_id("P1", photo) == item_id("P1", photo)
    assert item_id("P1", photo) != item_id("P2", photo)  # one photo under two products: two items
    assert item_id("P1", photo) != item_id("P1", photo_sha256(b"photo2"))
    assert len(item_id("P1", photo)) == 64


def test_crawl_time_is_stored_in_utc(make_item) -> None:
    paris = timezone(timedelta(hours=1))
    item = make_item(1, crawled_at=datetime(2026, 1, 1, 12, 0, tzinfo=paris))
    assert item.crawled_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert item.crawled_at.tzinfo == UTC


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "not-a-hash"),
        ("photo_sha256", "not-a-hash"),
        ("currency", "euro"),
        ("price", -1.0),
        ("product_url", "javascript:alert(1)"),
        ("crawled_at", datetime(2026, 1, 1)),  # naive: ambiguous
        ("brand", ""),
    ],
)
def test_invalid_fields_are_rejected(make_item, field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        make_item(1, **{field: value})
