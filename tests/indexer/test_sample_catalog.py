"""The synthetic demo metadata: valid items, a pure function of the photo."""

from indexer.item import CatalogItem, item_id_for_image
from indexer.sample_catalog import sample_item_fields


def test_the_same_photo_always_gets_the_same_valid_item() -> None:
    fields = sample_item_fields(b"photo-1", "dress")
    assert fields == sample_item_fields(b"photo-1", "dress")
    item = CatalogItem(id=item_id_for_image(b"photo-1"), model_version="v", **fields)
    assert item.category == "dress" and item.category in item.title
    assert 9.99 <= item.price < 200


def test_different_photos_get_varied_metadata() -> None:
    items = [sample_item_fields(f"photo-{n}".encode(), "hat") for n in range(200)]
    assert len({item["product_id"] for item in items}) == 200
    assert len({item["brand"] for item in items}) > 4
    assert len({item["colour"] for item in items}) > 5
    assert any(not item["in_stock"] for item in items)
