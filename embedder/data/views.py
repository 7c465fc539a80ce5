"""Two augmented views of each training image: the raw material of every triplet.

With class labels, any two images of a class are a positive pair; without them, the two views of one
image are (a crop, a flip, another light). The miner picks the triplets inside each batch.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from embedder.config import ModelConfig
from embedder.data.dataset import LabelledImages


def augmentation_for(config: ModelConfig) -> v2.Transform:
    """Random crop, flip and lighting changes on uint8 (C, H, W) images, sized to the model's input."""
    size = (config.image_height, config.image_width)
    if config.channels == 1:  # small grey-scale images: keep it mild, or the classes blur together
        return v2.Compose([v2.RandomCrop(size, padding=2, padding_mode="edge"), v2.RandomHorizontalFlip()])
    aspect = config.image_width / config.image_height
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.45, 1.0), ratio=(aspect * 0.75, aspect * 1.33), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.RandomRotation(12)], p=0.3),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.3, 0.04)], p=0.8),
            v2.RandomGrayscale(p=0.1),
        ]
    )


class TwoViews(Dataset[tuple[torch.Tensor, torch.Tensor, int, int]]):
    """Item i -> (view_a (C, H, W) uint8, view_b (C, H, W) uint8, class label or -1, i)."""

    def __init__(self, images: LabelledImages, config: ModelConfig, labelled: torch.Tensor | None = None) -> None:
        self.images = images
        self.augment = augmentation_for(config)
        # labelled[i] is False where the label must not be used (the unlabelled part in semi-supervised mode).
        self.labelled = labelled if labelled is not None else torch.ones(len(images), dtype=torch.bool)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        pixels = self.images.pixels[index]
        label = int(self.images.labels[index]) if self.labelled[index] else -1
        return self.augment(pixels), self.augment(pixels), label, index
