"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embedder.config import LossWeights, TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.training import Trainer
from tests.synthetic import COLOURS, coloured_image, tiny_model_config

# The real stack (Kafka, Solr, Milvus), started once per session for the integration tests.
pytest_plugins = ["tests.integration_fixtures"]


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


@pytest.fixture(scope="session")
def second_checkpoint(tmp_path_factory: pytest.TempPathFactory, synthetic_images: LabelledImages) -> Path:
    """Another tiny model (another seed): the one a promotion test promotes, or the ingest writes beside the first."""
    path = tmp_path_factory.mktemp("model-b") / "tiny-b.pt"
    config = TrainConfig(epochs=2, classes_per_batch=3, samples_per_class=8, threads=1, seed=1,
                         loss_weights=LossWeights())  # fmt: skip
    Trainer(tiny_model_config(), config).fit(synthetic_images, path, progress=False)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Name the random order's seed even under -q (`pytest --randomly-seed=N` repeats that order)."""
    seed = config.getoption("randomly_seed", default=None)
    if seed is not None:
        terminalreporter.write_line(f"tests ran in random order, seed {seed} (repeat: pytest --randomly-seed={seed})")
