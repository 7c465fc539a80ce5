"""Demo metadata for photos that come without any: mostly synthetic, NOT real product data.

A folder of photos such as clothing-small has a category (the class folder) and nothing else, but a catalog item
needs a title, a brand, a colour, a price and URLs. `sample_item_fields` derives them, deterministically, from
the photo's bytes and its category, so that the same photo always gets the same item (re-indexing and
re-publishing are idempotent) and the demo has something to filter and facet on. The colour (field and title
word) is the garment's, seen in the photo (`embedder.colour`); brand, material, price and stock are made up from
the photo's hash. Brands and shop are fictional.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from embedder.colour import dominant_colour
from embedder.errors import EmbedderError

SAMPLE_SITE = "demo-shop.example"
SAMPLE_CURRENCY = "EUR"
SAMPLE_BRANDS = ("Northwind", "Lumen", "Atelier Nove", "Copperfield", "Marlowe", "Kestrel", "Oakline", "Vireo")
SAMPLE_MATERIALS = ("cotton", "linen", "wool", "denim", "jersey", "leather", "silk", "canvas")
SAMPLE_CRAWL_START = datetime(2026, 1, 1, tzinfo=UTC)
UNKNOWN_COLOUR = "unknown"


def _pick(options: tuple[str, ...], digest: bytes, position: int) -> str:
    """One of options, chosen by one byte of the digest."""
    return options[digest[position] % len(options)]


def photo_colour(image: bytes) -> str:
    """The garment colour seen in the photo; UNKNOWN_COLOUR for bytes that are no photo (ingest rejects those)."""
    try:
        return dominant_colour(image)
    except EmbedderError:
        return UNKNOWN_COLOUR


def sample_item_fields(image: bytes, category: str) -> dict[str, Any]:
    """The catalog fields of a photo (all but id and model_version), a pure function of its inputs."""
    digest = hashlib.sha256(image).digest()
    key = digest.hex()[:16]
    brand, colour = _pick(SAMPLE_BRANDS, digest, 0), photo_colour(image)
    material = _pick(SAMPLE_MATERIALS, digest, 2)
    cents = int.from_bytes(digest[3:5], "big")  # 0..65535
    return {
        "product_id": f"demo-{key}",
        "title": f"{brand} {colour} {material} {category}",
        "brand": brand,
        "category": category,
        "colour": colour,
        "price": round(9.99 + cents % 19000 / 100, 2),  # 9.99 .. 199.98
        "currency": SAMPLE_CURRENCY,
        "product_url": f"https://{SAMPLE_SITE}/products/{key}",
        "image_url": f"https://{SAMPLE_SITE}/images/{key}.jpg",
        "source_site": SAMPLE_SITE,
        "crawled_at": SAMPLE_CRAWL_START + timedelta(seconds=int.from_bytes(digest[5:8], "big") % (30 * 86400)),
        "in_stock": digest[8] % 10 != 0,  # about one item in ten is out of stock
    }
