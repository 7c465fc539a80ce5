"""A shopper's photo of a catalog product: another crop, angle, light and camera than the catalog shot.

Used by the instance-level protocol: each test photo is turned into such a query, and the model must find
the original among all catalog photos. The distortions differ from the training augmentations (they add a
perspective-like shear, colour casts, blur and JPEG compression) and are seeded per image, so every run
and every representation sees the same queries.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageEnhance, ImageFilter


def shopper_photo(image: Image.Image, seed: int) -> Image.Image:
    """Deterministic distortion of `image` (RGB) for the given seed."""
    rng = random.Random(seed)
    image = image.convert("RGB")
    w, h = image.size
    # Framing: keep 70-92% of each side, at a random offset.
    cw, ch = int(w * rng.uniform(0.70, 0.92)), int(h * rng.uniform(0.70, 0.92))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    image = image.crop((left, top, left + cw, top + ch))
    # Angle: a small rotation and a shear (a cheap stand-in for a perspective change).
    fill = image.getpixel((0, 0))
    image = image.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BILINEAR, fillcolor=fill)
    shear = rng.uniform(-0.12, 0.12)
    image = image.transform(
        image.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * ch / 2, 0, 1, 0),
        Image.Resampling.BILINEAR,
        fillcolor=fill,
    )
    # Light: brightness, contrast, saturation, and a colour cast.
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.7, 1.3))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.6, 1.3))
    cast = [rng.uniform(0.88, 1.12) for _ in range(3)]
    image = Image.merge(
        "RGB",
        [band.point(lambda v, f=f: min(255, int(v * f))) for band, f in zip(image.split(), cast, strict=True)],
    )
    # Camera: lower resolution, some blur, JPEG compression.
    scale = rng.uniform(0.5, 1.0)
    image = image.resize((max(16, int(cw * scale)), max(16, int(ch * scale))), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.2)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=rng.randint(35, 75))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
