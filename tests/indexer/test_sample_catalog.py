"""The demo metadata: valid items, a pure function of the photo, with the colour seen in the photo."""

from embedder.colour import PALETTE
from indexer.item import CatalogItem, item_id, photo_sha256
from indexer.sample_catalog import UNKNOWN_COLOUR, sample_item_fields
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes

RED, GREEN, BLUE = COLOURS


def test_the_same_photo_always_gets_the_same_valid_item() -> None:
    photo = jpeg_bytes(coloured_image(RED, seed=1))
    fields = sample_item_fields(photo, "dress")
    assert fields == sample_item_fields(photo, "dress")
    photo_hash = photo_sha256(photo)
    item = CatalogItem(
        id=item_id(fields["product_id"], photo_hash), photo_sha256=photo_hash, model_version="v", **fields
    )
    assert item.category == "dress" and item.category in item.title
    assert 9.99 <= item.price < 200


def test_the_colour_and_the_title_word_come_from_the_photo() -> None:
    for rgb, name in ((RED, "red"), (GREEN, "green"), (BLUE, "blue")):
        for seed in range(5):
            fields = sample_item_fields(jpeg_bytes(coloured_image(rgb, seed=seed)), "shirt")
            assert fields["colour"] == name and f" {name} " in fields["title"]


def test_different_photos_get_varied_metadata() -> None:
    items = [sample_item_fields(jpeg_bytes(coloured_image(COLOURS[n % 3], seed=n)), "hat") for n in range(120)]
    assert len({item["product_id"] for item in items}) == 120
    assert len({item["brand"] for item in items}) > 4
    assert {item["colour"] for item in items} == {"red", "green", "blue"} <= set(PALETTE)
    assert any(not item["in_stock"] for item in items)


def test_bytes_that_are_no_photo_get_an_unknown_colour() -> None:
    assert sample_item_fields(b"not a photo", "hat")["colour"] == UNKNOWN_COLOUR
