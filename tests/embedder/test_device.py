"""Where the model runs: device names resolve, a missing GPU is a clear error, training and inference follow."""

from pathlib import Path

import numpy as np
import pytest
import torch

from embedder import Embedder
from embedder.config import TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.device import resolve_device
from embedder.errors import DeviceUnavailableError
from embedder.training import Trainer
from tests.synthetic import tiny_model_config

HAS_CUDA = torch.cuda.is_available()


def test_auto_is_cuda_when_present_else_cpu() -> None:
    assert resolve_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_unknown_or_missing_device_is_a_clear_error() -> None:
    with pytest.raises(DeviceUnavailableError, match="unknown device"):
        resolve_device("tpu")
    if not HAS_CUDA:
        with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_embedder_loads_on_the_auto_device_with_the_same_vectors(tiny_checkpoint: Path) -> None:
    on_cpu = Embedder.load(tiny_checkpoint, device="cpu")
    on_auto = Embedder.load(tiny_checkpoint, device="auto")
    shape = (5, on_cpu.config.channels, on_cpu.config.image_height, on_cpu.config.image_width)
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    a, b = on_cpu.embed_pixels(pixels), on_auto.embed_pixels(pixels)
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert np.abs(a - b).max() < (0.05 if HAS_CUDA else 1e-6)  # bf16 on a GPU rounds; the CPU is exact


def test_training_with_dataloader_workers_and_resume(tmp_path: Path, synthetic_images: LabelledImages) -> None:
    config = TrainConfig(epochs=1, classes_per_batch=3, samples_per_class=8, threads=1, workers=2, device="auto")
    trainer = Trainer(tiny_model_config(), config)
    assert trainer.device == resolve_device("auto")
    path = tmp_path / "workers.pt"
    trainer.fit(synthetic_images, path, progress=False)
    resumed = Trainer.resume(path, epochs=2)
    assert resumed.config.workers == 2 and resumed.epoch == 1
    resumed.fit(synthetic_images, path, progress=False)
    assert resumed.epoch == 2 and all(np.isfinite(v) for v in resumed.history[-1].values())
