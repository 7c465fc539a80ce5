"""The dominant garment colour of a product photo, named from a small palette (numpy and PIL only).

1. The photo is shrunk to a thumbnail and converted to CIE Lab (perceptual distances, lightness apart).
2. The background is what the border shows: the colours of the border strip are clustered, and the pixels close to
   one of the common border colours *and connected to the border* through such pixels are dropped (a flood fill,
   so a white print in the middle of a white-background photo stays garment). If that would leave almost
   nothing (the garment fills the frame), every pixel counts.
3. Each garment pixel is named from its lightness, chroma and hue (LCh), weighted towards the centre of the photo,
   and the name with the largest weight wins.
"""

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from embedder.preprocessing import ImageInput, decode

PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "beige")
# Colours a person may fairly call one another (navy: black or blue; khaki: beige, brown or green, ...).
NEIGHBOURS = frozenset(
    frozenset(pair)
    for pair in [
        ("black", "grey"), ("white", "grey"), ("white", "beige"), ("grey", "beige"), ("grey", "blue"),
        ("black", "blue"), ("black", "brown"), ("red", "orange"), ("red", "pink"), ("red", "brown"),
        ("red", "purple"), ("orange", "yellow"), ("orange", "brown"), ("yellow", "beige"), ("yellow", "green"),
        ("green", "blue"), ("green", "grey"), ("green", "brown"), ("blue", "purple"), ("purple", "pink"),
        ("pink", "white"), ("brown", "beige"), ("brown", "grey"),
    ]
)  # fmt: skip
THUMBNAIL = 64  # longer side, pixels
BORDER = 3  # border strip width, pixels of the thumbnail
BORDER_CLUSTERS = 4
BORDER_SHARE = 0.1  # a border colour cluster this common is background
BACKGROUND_DELTA_E = 14.0  # how close (Lab distance) to a background colour a pixel must be to count as one
MIN_GARMENT_SHARE = 0.08  # less garment than this: the garment fills the frame, every pixel counts


def dominant_colour(image: ImageInput) -> str:
    """The palette name of the garment's dominant colour (ImageDecodeError if image is not one)."""
    lab = to_lab(thumbnail(decode(image)))  # (H, W, 3)
    garment = garment_mask(lab)  # (H, W)
    weights = centre_weights(*garment.shape) * garment
    names = name_pixels(lab)  # (H, W) palette indices
    votes = np.bincount(names.ravel(), weights=weights.ravel(), minlength=len(PALETTE))
    return PALETTE[int(np.argmax(votes))]


def colour_or_derived(given: str | None, image: ImageInput) -> str:
    """The colour a crawler sent, or, when it sent none, the photo's (the ingest path's optional enrichment)."""
    return given if given and given.strip() else dominant_colour(image)


def are_neighbours(first: str, second: str) -> bool:
    """Whether two palette colours are the same or next to each other (a fair disagreement)."""
    return first == second or frozenset((first, second)) in NEIGHBOURS


def thumbnail(image: Image.Image) -> NDArray[np.float32]:
    """RGB in [0, 1], longer side THUMBNAIL pixels; (H, W, 3)."""
    small = image.convert("RGB")
    small.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def to_lab(rgb: NDArray[np.float32]) -> NDArray[np.float32]:
    """sRGB in [0, 1] -> CIE Lab (D65); same shape."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], np.float32)
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)
    return lab.astype(np.float32)


def garment_mask(lab: NDArray[np.float32]) -> NDArray[np.bool_]:
    """True where the pixel is garment: not a common border colour reachable from the border; (H, W)."""
    border = np.ones(lab.shape[:2], bool)
    border[BORDER:-BORDER, BORDER:-BORDER] = False
    centres = background_colours(lab[border])  # (K, 3)
    distance = np.linalg.norm(lab[:, :, None, :] - centres[None, None], axis=-1).min(axis=-1)  # (H, W)
    background = flood_from_border(distance < BACKGROUND_DELTA_E)
    garment = ~background
    return garment if garment.mean() >= MIN_GARMENT_SHARE else np.ones_like(garment)


def background_colours(border: NDArray[np.float32]) -> NDArray[np.float32]:
    """The common colours of the border pixels (N, 3): centres of k-means clusters holding BORDER_SHARE or more."""
    rng = np.random.default_rng(0)
    centres = border[rng.choice(len(border), BORDER_CLUSTERS, replace=False)]
    for _ in range(10):
        nearest = np.linalg.norm(border[:, None] - centres[None], axis=-1).argmin(axis=1)  # (N,)
        centres = np.stack([border[nearest == k].mean(0) if (nearest == k).any() else centres[k]
                            for k in range(BORDER_CLUSTERS)])  # fmt: skip
    shares = np.bincount(nearest, minlength=BORDER_CLUSTERS) / len(border)
    return centres[shares >= BORDER_SHARE]


def flood_from_border(candidate: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The candidate pixels connected (4-neighbourhood, through candidates) to the image border."""
    reached = np.zeros_like(candidate)
    reached[[0, -1], :], reached[:, [0, -1]] = candidate[[0, -1], :], candidate[:, [0, -1]]
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= candidate
        if (grown == reached).all():
            return reached
        reached = grown


def centre_weights(height: int, width: int) -> NDArray[np.float32]:
    """A Gaussian bump over the image, 1 at the centre and about 0.3 at the middle of each side; (H, W)."""
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / (height / 2)
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / (width / 2)
    return np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / 1.6).astype(np.float32)


def name_pixels(lab: NDArray[np.float32]) -> NDArray[np.intp]:
    """The palette index of every pixel, from lightness, chroma and hue angle; (H, W)."""
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a)) % 360
    index = {name: n for n, name in enumerate(PALETTE)}
    names = np.full(lightness.shape, index["red"], np.intp)
    neutral = chroma < np.where((hue >= 220) & (hue < 300), 6.0, 10.0)  # photographed blues are greyish
    rules = [  # first match wins, so the order matters
        (lightness < 12, "black"),
        (neutral & (lightness > 70), "white"),
        (neutral & (lightness < 28), "black"),
        (neutral, "grey"),
        ((hue >= 50) & (hue < 110) & (chroma < 28) & (lightness >= 60), "beige"),
        ((hue >= 70) & (hue < 110) & (chroma < 25) & (lightness < 60), "green"),  # olive, khaki
        ((hue >= 20) & (hue < 85) & (lightness < 45) & ((chroma < 35) | (hue >= 50)), "brown"),
        (((hue >= 345) | (hue < 20)) & (lightness >= 55), "pink"),
        (hue < 50, "red"),
        (hue < 80, "orange"),
        (hue < 110, "yellow"),
        (hue < 200, "green"),
        (hue < 310, "blue"),  # the sRGB blue primary is at 306
        (hue < 335, "purple"),
        (hue < 345, "pink"),
    ]  # what no rule names (hue 345..360, darker) is red
    decided = np.zeros(lightness.shape, bool)
    for condition, name in rules:
        names[condition & ~decided] = index[name]
        decided |= condition
    return names
