"""CNN perceptual loss: reconstructions must keep the structure of the input in intermediate features.

The feature extractor is the CBIR-GAN discriminator itself (trained here; no pretrained ImageNet network
exists on our machines). Each stage's feature maps of the real image and of its reconstruction are
compared with an L1 distance, and the stages are averaged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class PerceptualLoss:
    """Mean over stages of L1(features(real), features(reconstruction))."""

    def __call__(self, real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
        terms = [F.l1_loss(fake, real.detach()) for real, fake in zip(real_features, fake_features, strict=True)]
        return torch.stack(terms).mean()
