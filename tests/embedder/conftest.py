"""Small, fast fixtures for the embedder tests: synthetic images and a tiny trained checkpoint."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embedder.config import LossWeights, ModelConfig, TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.training import Trainer

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


@pytest.fixture(scope="session")
def synthetic_images() -> LabelledImages:
    from embedder.preprocessing import to_pixels

    config = tiny_model_config()
    images, labels = [], []
    for label, colour in enumerate(COLOURS):
        for i in range(24):
            images.append(to_pixels(coloured_image(colour, seed=100 * label + i), config))
            labels.append(label)
    return LabelledImages(
        pixels=torch.from_numpy(np.stack(images)),
        labels=torch.tensor(labels),
        class_names=["red", "green", "blue"],
        description={"dataset": "synthetic", "images": len(labels)},
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, synthetic_images: LabelledImages) -> Path:
    """A checkpoint trained for two epochs on the synthetic images (a few seconds on a CPU)."""
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    config = TrainConfig(epochs=2, classes_per_batch=3, samples_per_class=8, threads=1, loss_weights=LossWeights())
    Trainer(tiny_model_config(), config).fit(synthetic_images, path, progress=False)
    return path
