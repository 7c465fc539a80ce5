"""An in-memory labelled image set: the common form every data source is loaded into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class LabelledImages:
    """uint8 pixels at the model's input size, with class labels and where they came from."""

    pixels: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor  # (N,) int64
    class_names: list[str]
    sources: list[str] = field(default_factory=list)  # file path or "<dataset>:<index>" of each image
    description: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, count: int) -> LabelledImages:
        """The first `count` images (all of them when count is 0)."""
        if count <= 0 or count >= len(self):
            return self
        return LabelledImages(
            self.pixels[:count],
            self.labels[:count],
            self.class_names,
            self.sources[:count],
            {**self.description, "limit": count},
        )
