"""Pixel reconstruction loss between the (down-scaled) input and the decoder's output."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ReconstructionLoss:
    """L1 distance in the encoder's normalised pixel space."""

    def __call__(self, real: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(reconstruction, real)
