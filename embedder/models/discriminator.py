"""The CBIR-GAN discriminator: tells real (down-scaled) images from the generator's reconstructions.

Its intermediate feature maps double as the feature extractor of the perceptual loss: no pretrained
ImageNet network exists on our machines, and the discriminator is a CNN trained here on the same data.
"""

from __future__ import annotations

import torch
from torch import nn

from embedder.config import ModelConfig


class Discriminator(nn.Module):
    """Image (B, C, h, w) -> (logit (B,), [feature map of each stage])."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = config.channels
        for c_out in config.disc_widths:
            blocks.append(
                nn.Sequential(
                    nn.utils.spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.logit = nn.utils.spectral_norm(nn.Linear(c_in, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.logit(x.mean(dim=(2, 3))).squeeze(1), features
