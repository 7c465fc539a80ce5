from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from indexer.item import item_id_for_image


def test_item_id_is_a_stable_hash_of_the_image_bytes() -> None:
    assert item_id_for_image(b"photo") == item_id_for_image(b"photo")
    assert item_id_for_image(b"photo") != item_id_for_image(b"photo2")
    assert len(item_id_for_image(b"photo")) == 64


def test_crawl_time_is_stored_in_utc(make_item) -> None:
    paris = timezone(timedelta(hours=1))
    item = make_item(1, crawled_at=datetime(2026, 1, 1, 12, 0, tzinfo=paris))
    assert item.crawled_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert item.crawled_at.tzinfo == UTC


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "not-a-hash"),
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
