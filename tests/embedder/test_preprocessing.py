import numpy as np
import pytest
import torch
from PIL import Image

from embedder.config import ModelConfig
from embedder.errors import EmptyInputError, ImageDecodeError
from embedder.preprocessing import decode, normalize, to_pixels
from tests.synthetic import coloured_image, jpeg_bytes


def test_decode_accepts_bytes_and_pil_images() -> None:
    image = coloured_image((200, 10, 10), seed=1)
    assert decode(image) is image
    decoded = decode(jpeg_bytes(image))
    assert decoded.size == image.size


@pytest.mark.parametrize("data", [b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64])
def test_undecodable_bytes_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError, match="cannot decode image"):
        decode(data)


def test_empty_bytes_raise_empty_input() -> None:
    with pytest.raises(EmptyInputError):
        decode(b"")


def test_wrong_type_is_refused() -> None:
    with pytest.raises(ImageDecodeError, match="expected a PIL image"):
        decode("a/path/given/as/str")  # type: ignore[arg-type]


def test_truncated_jpeg_is_refused() -> None:
    data = jpeg_bytes(coloured_image((10, 200, 10), seed=2))
    with pytest.raises(ImageDecodeError):
        decode(data[: len(data) // 2])


def test_to_pixels_resizes_and_converts_channels() -> None:
    rgb = ModelConfig(image_height=64, image_width=48)
    grey = ModelConfig(channels=1, image_height=28, image_width=28)
    image = coloured_image((10, 10, 200), seed=3, size=(300, 200))
    assert to_pixels(image, rgb).shape == (3, 64, 48)
    assert to_pixels(image, grey).shape == (1, 28, 28)
    assert to_pixels(image.convert("RGBA"), rgb).dtype == np.uint8


def test_normalize_standardises_per_channel() -> None:
    config = ModelConfig(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    pixels = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    assert torch.allclose(normalize(pixels, config), torch.full((1, 3, 2, 2), 2.0))


def test_palette_and_grey_images_decode() -> None:
    image = Image.new("P", (30, 40))
    assert to_pixels(image, ModelConfig()).shape == (3, 64, 48)
