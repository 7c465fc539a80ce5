"""Triplet loss on embeddings with online mining, from pytorch-metric-learning."""

from __future__ import annotations

import torch
from pytorch_metric_learning import distances, losses, miners
from torch import nn


class TripletLoss(nn.Module):
    """Mines (anchor, positive, negative) index triplets inside the batch, then applies a margin loss.

    Distances are cosine similarities, matching the L2-normalised embeddings and the cosine metric used
    at search time. Only triplets that violate the margin are mined, so the loss is their average.
    """

    def __init__(self, margin: float = 0.2, triplets: str = "all") -> None:
        super().__init__()
        distance = distances.CosineSimilarity()
        self.miner = miners.TripletMarginMiner(margin=margin, type_of_triplets=triplets, distance=distance)
        self.loss = losses.TripletMarginLoss(margin=margin, distance=distance)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """embeddings (B, D), labels (B,) -> scalar loss; 0 when the batch holds no violating triplet."""
        triplets = self.miner(embeddings, labels)
        return self.loss(embeddings, labels, triplets)
