"""What a protocol ranks with: the trained model, or the raw-pixel baseline, behind one interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from embedder.inference import Embedder


class Representation(Protocol):
    name: str

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """PIL images -> (N, D) float32 unit-length rows."""
        ...


class ModelRepresentation:
    """A trained CBIR-GAN checkpoint."""

    def __init__(self, name: str, embedder: Embedder) -> None:
        self.name = name
        self.embedder = embedder

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.embedder.embed(images)


class RawPixels:
    """The baseline: the image resized to size x size, its pixels as one vector, compared by cosine."""

    def __init__(self, size: int, grey: bool) -> None:
        self.name = f"raw-pixels-{size}x{size}{'-grey' if grey else '-rgb'}"
        self.size, self.mode = size, "L" if grey else "RGB"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = [
            np.asarray(
                image.convert(self.mode).resize((self.size, self.size), Image.Resampling.BILINEAR), np.float32
            ).ravel()
            for image in images
        ]
        vectors = np.stack(rows) / 255.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
