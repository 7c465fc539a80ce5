"""Training the text encoder against frozen image embeddings, with (photo, its description, a wrong one) triplets.

Each step takes a batch of photos; for each photo a fresh description of its category and colour is the
positive and a description of another category is the negative (`embedder.descriptions`). The anchor is the
photo's frozen CBIR-GAN embedding, so only the text side moves: its words are pulled towards the photos they
describe and pushed away from the others, in the space the image index already uses.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_metric_learning import distances, losses

from embedder.colour import dominant_colour
from embedder.data.image_folder import list_image_folder
from embedder.descriptions import describe, wrong_description
from embedder.inference import Embedder
from embedder.text_encoder import TextEncoder, TextEncoderConfig

logger = logging.getLogger(__name__)


@dataclass
class TextTrainConfig:
    """How the text encoder is trained; saved inside its checkpoint."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    margin: float = 0.3
    seed: int = 0
    encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)


@dataclass
class DescribedPhotos:
    """Frozen image embeddings of a photo folder with what a description needs: category and colour."""

    vectors: np.ndarray  # (N, D) unit rows
    categories: list[str]
    colours: list[str]
    sources: list[str]


def describe_photos(root: Path | str, embedder: Embedder, batch: int = 256) -> DescribedPhotos:
    """Embed every photo of a `root/<category>/<image>` tree and derive its colour from the photo."""
    paths, labels, class_names = list_image_folder(root)
    vectors, colours = [], []
    for start in range(0, len(paths), batch):
        images = [path.read_bytes() for path in paths[start : start + batch]]
        vectors.append(embedder.embed(images))
        colours += [dominant_colour(image) for image in images]
        logger.info("described %d / %d photos of %s", start + len(images), len(paths), root)
    categories = [class_names[label] for label in labels]
    return DescribedPhotos(np.concatenate(vectors), categories, colours, [str(path) for path in paths])


def triplet_loss(margin: float) -> losses.TripletMarginLoss:
    """Cosine triplet margin loss (pytorch-metric-learning), the metric the image index searches with."""
    return losses.TripletMarginLoss(margin=margin, distance=distances.CosineSimilarity())


def train_text_encoder(
    photos: DescribedPhotos,
    config: TextTrainConfig,
    loss: losses.BaseMetricLossFunction | None = None,
) -> tuple[TextEncoder, list[dict[str, float]]]:
    """Fit a text encoder to the photos' frozen embeddings; returns it and the per-epoch mean loss."""
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    loss = loss or triplet_loss(config.margin)
    encoder = TextEncoder(config.encoder)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    images = torch.from_numpy(photos.vectors)  # (N, D), frozen
    history = []
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(images)).tolist()
        total, steps = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            b = len(batch)
            positives = [describe(photos.categories[i], photos.colours[i], rng) for i in batch]
            negatives = [wrong_description(photos.categories[i], photos.colours[i], rng) for i in batch]
            texts = encoder.encode(positives + negatives)  # (2B, D)
            embeddings = torch.cat([images[batch], texts])  # (3B, D): photos, descriptions, wrong descriptions
            anchors = torch.arange(b)
            value = loss(embeddings, indices_tuple=(anchors, anchors + b, anchors + 2 * b))
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            total, steps = total + value.item(), steps + 1
        history.append({"epoch": epoch, "loss": total / steps})
        if epoch % 10 == 0 or epoch == config.epochs:
            logger.info("text encoder epoch %d/%d: loss %.4f", epoch, config.epochs, total / steps)
    return encoder.eval(), history


def training_record(
    config: TextTrainConfig, photos: DescribedPhotos, root: str, history: Sequence[Any]
) -> dict[str, Any]:
    """What a text checkpoint says about its training: config, data, per-epoch loss."""
    return {
        "train_config": asdict(config),
        "data": {"root": root, "photos": len(photos.categories), "categories": sorted(set(photos.categories))},
        "history": list(history),
    }
