"""A demo catalog from a folder of photos: deterministic made-up metadata for each `<category>/<photo>` file.

The titles, brands, prices and colours are derived from a hash of the photo's path, so publishing the same
folder twice sends the same messages.
"""

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from embedder.data.image_folder import IMAGE_SUFFIXES
from ingest.message import SCHEMA_VERSION, UpsertMessage

BRANDS = ("Northwind", "Acme Apparel", "Lumen", "Kestrel", "Fjord & Co", "Atelier Nova", "Urban Loom", "Solace")
COLOURS = ("black", "white", "grey", "navy", "red", "green", "beige", "brown", "blue", "pink")
STYLES = ("Classic", "Relaxed", "Slim", "Vintage", "Everyday", "Premium", "Lightweight", "Organic cotton")
DEMO_SITE = "shop.cbir-demo.example"
DEFAULT_IMAGE_BASE_URL = "https://img.cbir-demo.example/"
CRAWLED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def folder_photos(root: Path) -> list[Path]:
    """The photos under root (any depth), in a stable order."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def demo_message(
    path: Path, root: Path, image_base_url: str = DEFAULT_IMAGE_BASE_URL, inline: bool = True
) -> UpsertMessage:
    """The message of one photo; its bytes inline (base64) unless inline is False (then fetched from the URL)."""
    relative = path.relative_to(root).as_posix()
    digest = hashlib.sha256(relative.encode()).digest()
    category = path.parent.name if path.parent != root else "clothing"
    colour, brand, style = COLOURS[digest[0] % len(COLOURS)], BRANDS[digest[1] % len(BRANDS)], STYLES[digest[2] % 8]
    product_id = f"demo-{digest[:6].hex()}"
    return UpsertMessage(
        schema_version=SCHEMA_VERSION,
        op="upsert",
        product_id=product_id,
        title=f"{style} {colour} {category}",
        brand=brand,
        category=category,
        colour=colour,
        price=round(9.99 + int.from_bytes(digest[3:5]) % 19000 / 100, 2),
        currency="EUR",
        product_url=f"https://{DEMO_SITE}/p/{product_id}",
        image_url=image_base_url.rstrip("/") + "/" + relative,
        image_b64=base64.b64encode(path.read_bytes()).decode() if inline else None,
        source_site=DEMO_SITE,
        crawled_at=CRAWLED_AT,
        in_stock=digest[5] % 10 != 0,
    )


def folder_messages(
    root: Path, image_base_url: str = DEFAULT_IMAGE_BASE_URL, inline: bool = True
) -> Iterator[UpsertMessage]:
    """The message of every photo under root."""
    for path in folder_photos(root):
        yield demo_message(path, root, image_base_url, inline)
