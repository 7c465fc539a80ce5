"""Synthetic images and a tiny trained checkpoint: small, fast inputs for the unit tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from embedder.config import ModelConfig

COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 220)]


def tiny_model_config() -> ModelConfig:
    return ModelConfig(
        image_height=32,
        image_width=24,
        widths=(8, 16),
        recon_height=16,
        recon_width=8,
        decoder_widths=(16, 8, 8, 8),
        disc_widths=(8, 16),
        embedding_dim=16,
    )


def coloured_image(colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (48, 64)) -> Image.Image:
    """A noisy image of one dominant colour with a random darker box: three easily told classes."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    x, y = rng.integers(0, size[0] // 2), rng.integers(0, size[1] // 2)
    pixels[y : y + size[1] // 3, x : x + size[0] // 3] //= 2
    return Image.fromarray(pixels, "RGB")


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# A valid metadata-file row (without its image), with a brand that looks like Solr query syntax.
CATALOG_ROW: dict[str, object] = {
    "product_id": "P1",
    "title": "Red linen shirt",
    "brand": "AND (x:*)",
    "category": "shirt",
    "colour": "red",
    "price": 19.5,
    "currency": "EUR",
    "product_url": "https://shop.example/p/1",
    "image_url": "https://shop.example/i/1.jpg",
    "source_site": "shop.example",
    "crawled_at": "2026-03-04T05:06:07Z",
}


def write_photo_folder(root: Path, per_class: int = 3) -> None:
    """per_class photos in each of red/ and blue/, plus one file in red/ that is not an image."""
    for name, colour in [("red", COLOURS[0]), ("blue", COLOURS[2])]:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            (root / name / f"{i}.jpg").write_bytes(jpeg_bytes(coloured_image(colour, seed=i)))
    (root / "red" / "broken.jpg").write_bytes(b"not a jpeg")
