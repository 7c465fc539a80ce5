"""Synthetic images and a tiny trained checkpoint: small, fast inputs for the unit tests."""

from __future__ import annotations

import io

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
