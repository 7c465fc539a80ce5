"""Adversarial (hinge) loss between the discriminator and the generator's reconstructions."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class AdversarialLoss:
    """Hinge GAN loss: stable with a spectrally normalised discriminator and small batches."""

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()
