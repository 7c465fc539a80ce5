"""The public inference API: `Embedder.load(path).embed(images) -> (N, D) float32, rows L2-normalised`.

Only the encoder runs at serving time; the decoder and the discriminator stay in the checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedder.checkpoint import load_checkpoint
from embedder.checkpoint_facts import model_version
from embedder.config import ModelConfig
from embedder.device import autocast, resolve_device
from embedder.errors import EmptyInputError
from embedder.models import Encoder
from embedder.preprocessing import ImageInput, decode, normalize, to_pixels

logger = logging.getLogger(__name__)


class Embedder:
    """A CBIR-GAN encoder ready for inference: thread-safe for concurrent `embed` calls (no state changes)."""

    def __init__(
        self,
        config: ModelConfig,
        encoder: Encoder,
        version: str = "unversioned",
        batch_size: int = 64,
        threads: int | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.config = config
        self.encoder = encoder.eval()
        self.device = next(encoder.parameters()).device  # inputs go where the weights are
        self.version = version
        self.batch_size = batch_size
        self.info = info or {}

    @classmethod
    def load(cls, path: Path | str, batch_size: int = 64, threads: int | None = None, device: str = "cpu") -> Embedder:
        """Load the encoder of a checkpoint onto a device (auto, cpu, cuda).

        `version` is the first 12 hex digits of the file's SHA-256, whatever the device.
        """
        checkpoint = load_checkpoint(path)
        config = ModelConfig.from_dict(checkpoint["model_config"])
        encoder = Encoder(config)
        prefix = "encoder."
        encoder.load_state_dict(
            {k[len(prefix) :]: v for k, v in checkpoint["generator"].items() if k.startswith(prefix)}
        )
        encoder.to(resolve_device(device))
        info = {key: checkpoint.get(key) for key in ("data", "epoch", "step", "metrics", "train_config")}
        version = model_version(path)
        logger.info("loaded embedder %s from %s (dim %d, %s)", version, path, config.embedding_dim, device)
        return cls(config, encoder, version, batch_size, threads, info)

    @property
    def dim(self) -> int:
        return self.config.embedding_dim

    def pixels(self, images: Sequence[ImageInput]) -> np.ndarray:
        """Decode and resize: list of images -> uint8 (N, C, H, W). Raises on empty or undecodable input."""
        if len(images) == 0:
            raise EmptyInputError("no images given")
        return np.stack([to_pixels(decode(image), self.config) for image in images])

    @torch.inference_mode()
    def embed_pixels(self, pixels: np.ndarray | torch.Tensor) -> np.ndarray:
        """uint8 (N, C, H, W) at the model's input size -> float32 (N, D), one forward pass per batch."""
        if isinstance(pixels, np.ndarray) and not pixels.flags.writeable:
            pixels = pixels.copy()  # e.g. np.frombuffer over message bytes; torch wants writable memory
        pixels = torch.as_tensor(pixels)
        out = []
        for start in range(0, pixels.shape[0], self.batch_size):
            batch = pixels[start : start + self.batch_size].to(self.device, non_blocking=True)  # (B, C, H, W)
            with autocast(self.device):
                out.append(self.encoder(normalize(batch, self.config)).float())  # (B, D)
        vectors = torch.nn.functional.normalize(torch.cat(out), dim=1)  # unit rows again after any bf16 rounding
        return vectors.cpu().numpy().astype(np.float32, copy=False)

    def embed(self, images: Sequence[ImageInput]) -> np.ndarray:
        """PIL images or encoded image bytes -> float32 (N, D) with unit-length rows."""
        return self.embed_pixels(self.pixels(images))
