"""The CBIR-GAN generator: an encoder to an L2-normalised embedding and a decoder back to an image.

The anchor, the positive and the negative of a triplet all pass through this one module, which is what
"three generators with shared weights" means in practice: one set of weights applied to every image of
the batch, and the triplets indexed out of the batch by the miner.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from embedder.config import ModelConfig


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; `stride=2` halves the height and width."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Encoder(nn.Module):
    """Image (B, C, H, W), normalised -> embedding (B, D) with unit L2 norm."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        widths = config.widths
        # A stride-2 stem keeps the cost low on CPUs; grey 28x28 images skip it to keep their detail.
        stem_stride = 2 if config.image_height >= 48 else 1
        self.stem = nn.Sequential(
            nn.Conv2d(config.channels, widths[0], 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages = [ResidualBlock(widths[0], widths[0], 1)]
        stages += [ResidualBlock(a, b, 2) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        self.stages = nn.Sequential(*stages)
        # Average and max pooling together keep both the overall look and the strongest local detail.
        self.head = nn.Linear(2 * widths[-1], config.embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))  # (B, W_last, h, w)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)  # (B, 2 W_last)
        return F.normalize(self.head(pooled), dim=1)  # (B, D)


class Decoder(nn.Module):
    """Embedding (B, D) -> image (B, C, recon_height, recon_width) in the encoder's normalised space."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        widths = config.decoder_widths
        self.start = (widths[0], config.recon_height // 2 ** (len(widths) - 1), config.recon_width // 2 ** (len(widths) - 1))
        self.project = nn.Linear(config.embedding_dim, widths[0] * self.start[1] * self.start[2])
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):  # each step doubles H and W
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(widths[-1], config.channels, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z).view(-1, *self.start))


class Generator(nn.Module):
    """Encoder and decoder together: returns the embedding and the reconstruction of each image."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)  # (B, D)
        return z, self.decoder(z)  # (B, D), (B, C, h, w)
