"""One checkpoint file: weights, configs, data description, training step and metrics, in one dict.

It loads with `torch.load(weights_only=True)`: only tensors and plain Python values, no pickled classes,
so a checkpoint never runs code and never needs the training code's globals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from embedder.checkpoint_facts import FORMAT, file_sha256
from embedder.errors import CheckpointError

__all__ = ["FORMAT", "file_sha256", "load_checkpoint", "save_checkpoint"]
# Checkpoints written before the version was stored as a plain string hold a TorchVersion object.
torch.serialization.add_safe_globals([torch.torch_version.TorchVersion])


def save_checkpoint(path: Path | str, checkpoint: dict[str, Any]) -> None:
    """Write atomically (temporary file, then rename), so a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": FORMAT, **checkpoint}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; CheckpointError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds here: unpickling, zip, EOF
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    return checkpoint
