"""The dominant garment colour of a photo: background left out, named from the palette."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from embedder.colour import PALETTE, are_neighbours, colour_or_derived, dominant_colour
from embedder.errors import EmbedderError

RGB = tuple[int, int, int]


def photo(garment: RGB, background: RGB, print_colour: RGB | None = None, seed: int = 0) -> bytes:
    """A JPEG of a T-shaped garment on a plain, slightly noisy background; optionally a print on its chest."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(background) + rng.normal(0, 6, (200, 160, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((50, 40, 110, 170), fill=garment)  # body
    draw.rectangle((20, 40, 140, 80), fill=garment)  # sleeves
    if print_colour is not None:
        draw.ellipse((62, 70, 98, 120), fill=print_colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


WHITE_FLOOR, BEIGE_FLOOR, WOOD, RED_BLANKET = (238, 238, 235), (215, 200, 175), (120, 80, 50), (170, 20, 40)


@pytest.mark.parametrize(
    ("garment", "background", "expected"),
    [
        ((200, 30, 35), WHITE_FLOOR, "red"),
        ((20, 30, 80), BEIGE_FLOOR, "blue"),  # navy
        ((25, 25, 25), WHITE_FLOOR, "black"),
        ((245, 245, 245), WOOD, "white"),
        ((130, 130, 132), WHITE_FLOOR, "grey"),
        ((40, 140, 60), WHITE_FLOOR, "green"),
        ((240, 200, 40), WOOD, "yellow"),
        ((240, 130, 20), WHITE_FLOOR, "orange"),
        ((110, 40, 140), WHITE_FLOOR, "purple"),
        ((240, 120, 180), WHITE_FLOOR, "pink"),
        ((100, 60, 30), WHITE_FLOOR, "brown"),
        ((225, 205, 165), WOOD, "beige"),
        ((150, 190, 230), RED_BLANKET, "blue"),  # the background is the most colourful thing in the photo
    ],
)
def test_the_garment_colour_not_the_background(garment: tuple, background: tuple, expected: str) -> None:
    assert dominant_colour(photo(garment, background)) == expected


def test_a_print_in_the_background_colour_stays_garment() -> None:
    """A white print on a red shirt on a white floor is not background: it does not touch the border."""
    assert dominant_colour(photo((200, 30, 35), WHITE_FLOOR, print_colour=(245, 245, 245))) == "red"


def test_a_garment_filling_the_frame_is_still_seen() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (30, 150, 60)).save(buffer, format="PNG")
    assert dominant_colour(buffer.getvalue()) == "green"


def test_not_a_photo_is_an_embedder_error() -> None:
    with pytest.raises(EmbedderError):
        dominant_colour(b"this is text, not a photo")


def test_a_crawler_colour_wins_over_the_photo() -> None:
    red_shirt = photo((200, 30, 35), WHITE_FLOOR)
    assert colour_or_derived("burgundy", red_shirt) == "burgundy"
    assert colour_or_derived(None, red_shirt) == colour_or_derived("  ", red_shirt) == "red"


def test_neighbours_are_symmetric_and_in_the_palette() -> None:
    assert are_neighbours("black", "grey") and are_neighbours("grey", "black") and are_neighbours("red", "red")
    assert not are_neighbours("red", "green") and not are_neighbours("white", "black")
    for first in PALETTE:
        for second in PALETTE:
            assert are_neighbours(first, second) == are_neighbours(second, first)
