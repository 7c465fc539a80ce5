"""A small text encoder into the CBIR-GAN image space: `TextEmbedder.load(path).embed(texts) -> (N, D)`.

Text -> hashed sparse features (lower-cased words, word bigrams and character 3-grams of each word, so that
"sneaker" shares most of its features with "sneakers") -> mean of learned bucket vectors (an EmbeddingBag) ->
a linear projection -> L2 normalised, the same unit sphere as the image embeddings. It knows text and tensors
only; it is trained against frozen image embeddings by `embedder.training.text_trainer`.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from embedder.checkpoint import load_checkpoint
from embedder.checkpoint_facts import model_version
from embedder.errors import CheckpointError, EmptyInputError

logger = logging.getLogger(__name__)
KIND = "text-encoder"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class TextEncoderConfig:
    """Shape of the text encoder; saved inside its checkpoint."""

    buckets: int = 8192  # hashed feature buckets
    hidden: int = 128  # width of a bucket vector
    embedding_dim: int = 128  # the image embedder's dimension
    char_ngram: int = 3

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TextEncoderConfig:
        return cls(**values)


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words ("T-shirt" -> ["t", "shirt"])."""
    return _WORD.findall(text.lower())


def features(text: str, config: TextEncoderConfig) -> list[int]:
    """Hashed bucket ids of a text's words, word bigrams and character n-grams (stable across processes)."""
    tokens = words(text)
    grams = [f"w:{w}" for w in tokens] + [f"b:{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    n = config.char_ngram
    for word in tokens:
        padded = f"<{word}>"
        grams += [f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1)]
    return [zlib.crc32(gram.encode()) % config.buckets for gram in grams]


def batch_features(texts: Sequence[str], config: TextEncoderConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """EmbeddingBag inputs: flat bucket ids (F,) and each text's start offset (N,); an empty text gets bucket 0."""
    ids: list[int] = []
    offsets: list[int] = []
    for text in texts:
        offsets.append(len(ids))
        ids.extend(features(text, config) or [0])
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


class TextEncoder(nn.Module):
    """Hashed text features -> mean bucket vector -> linear -> unit vector in the image space."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.bag = nn.EmbeddingBag(config.buckets, config.hidden, mode="mean")
        self.project = nn.Sequential(nn.LayerNorm(config.hidden), nn.Linear(config.hidden, config.embedding_dim))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """ids (F,), offsets (N,) -> (N, D) unit rows."""
        return nn.functional.normalize(self.project(self.bag(ids, offsets)), dim=1)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> (N, D) unit rows (with gradients when training)."""
        return self(*batch_features(texts, self.config))


class TextEmbedder:
    """A trained text encoder ready for queries; `image_model` is the image embedder version it was trained for."""

    def __init__(self, encoder: TextEncoder, version: str = "unversioned", image_model: str = "") -> None:
        self.encoder = encoder.eval()
        self.version = version
        self.image_model = image_model

    @classmethod
    def load(cls, path: Path | str) -> TextEmbedder:
        """Read a checkpoint written by `embedder.training.text_trainer`; CheckpointError if it is not one."""
        checkpoint = load_checkpoint(path)
        if checkpoint.get("kind") != KIND:
            raise CheckpointError(f"{path} is not a {KIND} checkpoint")
        encoder = TextEncoder(TextEncoderConfig.from_dict(checkpoint["config"]))
        encoder.load_state_dict(checkpoint["weights"])
        version = model_version(path)
        logger.info("loaded text encoder %s from %s (for image model %s)", version, path, checkpoint["image_model"])
        return cls(encoder, version, checkpoint["image_model"])

    @property
    def dim(self) -> int:
        return self.encoder.config.embedding_dim

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (N, D) with unit-length rows."""
        if len(texts) == 0:
            raise EmptyInputError("no texts given")
        return self.encoder.encode(texts).numpy().astype(np.float32, copy=False)


def text_checkpoint(encoder: TextEncoder, image_model: str, **extra: Any) -> dict[str, Any]:
    """The checkpoint dict of a text encoder: weights, config, the image model it maps into, and `extra`."""
    return {
        "kind": KIND,
        "weights": encoder.state_dict(),
        "config": asdict(encoder.config),
        "image_model": image_model,
        **extra,
    }
