"""Where the model runs: `auto` picks CUDA when present, else the CPU; bf16 autocast on CUDA only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from embedder.errors import DeviceUnavailableError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for auto, cpu, cuda or cuda:N; DeviceUnavailableError if it is not here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise DeviceUnavailableError(f"unknown device {name!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {name!r} asked for, but torch sees no CUDA GPU here")
    return torch.device(name)


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on CUDA (tensor cores, fp32 weights kept); nothing on the CPU, where fp32 stays exact."""
    if device.type == "cuda":
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
