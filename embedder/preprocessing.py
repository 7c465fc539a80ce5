"""Image decoding and resizing shared by training and inference, so both see pixels made the same way."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from embedder.config import ModelConfig
from embedder.errors import EmptyInputError, ImageDecodeError

if TYPE_CHECKING:  # torch only where pixels become tensors: decoding alone (ingest, the fetch bolt) needs none
    import torch

ImageInput = Image.Image | bytes | bytearray | memoryview

# Refuse decompression bombs early: no product photo needs more than 40 megapixels. decode() checks the size
# itself, from the header, before anything is decoded (warnings.catch_warnings is not thread-safe); PIL's own
# check (a warning above its limit, an error above twice that) stays as a second guard, quiet below our limit.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2


def decode(data: ImageInput) -> Image.Image:
    """Encoded bytes or a PIL image -> PIL image. Raises EmptyInputError / ImageDecodeError."""
    if isinstance(data, Image.Image):
        return data
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageDecodeError(f"expected a PIL image or encoded image bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise EmptyInputError("empty image: zero bytes")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        pixels = image.width * image.height
        if pixels <= MAX_PIXELS:
            image.draft(None, (256, 256))  # JPEG only: decode at a reduced scale when the image is large
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageDecodeError(f"cannot decode image ({len(data)} bytes): {error}") from error
    except Image.DecompressionBombError as error:
        raise ImageDecodeError(f"image too large: {error}") from error
    if pixels > MAX_PIXELS:
        raise ImageDecodeError(f"image too large: {image.width}x{image.height} pixels, more than {MAX_PIXELS}")
    return image


def to_pixels(image: Image.Image, config: ModelConfig) -> np.ndarray:
    """PIL image -> uint8 array (C, H, W) at the model's input size and channel count."""
    mode = "L" if config.channels == 1 else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    size = (config.image_width, config.image_height)
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def normalize(pixels: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 (B, C, H, W), scaled to [0, 1] then standardised per channel."""
    import torch

    mean = torch.tensor(config.mean[: config.channels]).view(1, -1, 1, 1)
    std = torch.tensor(config.std[: config.channels]).view(1, -1, 1, 1)
    return (pixels.float() / 255.0 - mean) / std
