"""A learned second look: a small pairwise scorer of (query, candidate) over the first-stage candidates.

Each pair is described by features of the two embeddings (their cosine, and their element-wise product: a learned
per-dimension weighting of the cosine) and of the two grey thumbnails (SSIM, and SSIM over the cosine distance,
the `ssim_cosine` re-ranker's score), plus the candidate's first-stage rank and its cosine's gap to the best
candidate's. A logistic regression over them is trained on pairs from the training split: a shopper-style photo
of each training photo (embedder/evaluation/shopper_photo.py, seeds apart from the evaluation's) against its
exact top-K among the training photos, the original being the one positive. Stored as JSON (weights, bias, the
image model's version it belongs to); scoring is numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from embedder.errors import CheckpointError
from embedder.rerank import ssim

if TYPE_CHECKING:
    from embedder.inference import Embedder

SCALAR_FEATURES = ("cosine", "ssim", "ssim_over_distance", "rank", "gap_to_best")
TRAINING_SEED_OFFSET = 100_000  # the shopper photos of training are not those of the evaluation (seed = index)


def pair_features(
    query: NDArray[np.float32], candidates: NDArray[np.float32], query_thumb: NDArray[np.float32],
    candidate_thumbs: NDArray[np.float32],
) -> NDArray[np.float32]:  # fmt: skip
    """(K, 5 + D) features of a query (D,) with its K candidates (K, D) in first-stage order, and their grey
    thumbnails ((H, W) and (K, H, W))."""
    cosine = candidates @ query  # (K,)
    structural = ssim(query_thumb, candidate_thumbs)  # (K,)
    k = len(candidates)
    scalars = np.stack(
        [
            cosine,
            structural,
            structural / np.maximum(1.0 - cosine, 1e-3),
            np.arange(k) / max(k - 1, 1),
            cosine - cosine.max(initial=-1.0),
        ],
        axis=1,
    )  # (K, 5)
    return np.concatenate([scalars, candidates * query[None, :]], axis=1).astype(np.float32)


@dataclass(frozen=True)
class PairScorer:
    """Logistic weights over pair_features, for one image model."""

    model_version: str
    weights: list[float]
    bias: float
    mean: list[float]  # feature standardisation, fitted on the training pairs
    scale: list[float]
    k: int
    trained_on: dict[str, Any]

    def score(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        """The log-odds that each pair (rows of features) is the query's item."""
        standard = (features - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.scale, dtype=np.float32)
        return (standard @ np.asarray(self.weights, dtype=np.float32) + self.bias).astype(np.float32)

    def order(
        self, query: NDArray[np.float32], candidates: NDArray[np.float32], query_thumb: NDArray[np.float32],
        candidate_thumbs: NDArray[np.float32],
    ) -> NDArray[np.intp]:  # fmt: skip
        """The candidates' new order (indices into the first-stage order), best first."""
        scores = self.score(pair_features(query, candidates, query_thumb, candidate_thumbs))
        return np.argsort(-scores, kind="stable")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"format": "cbir-pair-scorer/1", **asdict(self)}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> PairScorer:
        """Read a scorer written by save; CheckpointError if it is not one."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise CheckpointError(f"cannot read the pair scorer {path}: {error}") from error
        if data.pop("format", None) != "cbir-pair-scorer/1":
            raise CheckpointError(f"{path} is not a cbir-pair-scorer/1 file")
        return cls(**data)


def training_pairs(
    queries: NDArray[np.float32], gallery: NDArray[np.float32], query_thumbs: NDArray[np.float32],
    gallery_thumbs: NDArray[np.float32], relevant: NDArray[np.int64], k: int,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:  # fmt: skip
    """The features and labels (1: the query's original) of each query's exact top-k candidates; queries whose
    original is not among them teach nothing about the order and are left out."""
    features, labels = [], []
    for q in range(len(queries)):
        top = np.argsort(-(gallery @ queries[q]), kind="stable")[:k]
        if relevant[q] not in top:
            continue
        features.append(pair_features(queries[q], gallery[top], query_thumbs[q], gallery_thumbs[top]))
        labels.append((top == relevant[q]).astype(np.int64))
    return np.concatenate(features), np.concatenate(labels)


def fit_pair_scorer(
    features: NDArray[np.float32], labels: NDArray[np.int64], model_version: str, k: int, trained_on: dict[str, Any],
    regularisation: float = 1.0,
) -> PairScorer:  # fmt: skip
    """A logistic regression over standardised features (scikit-learn, L2, balanced classes)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=2000)
    model.fit((features - mean) / scale, labels)
    return PairScorer(
        model_version=model_version, weights=[float(w) for w in model.coef_[0]], bias=float(model.intercept_[0]),
        mean=[float(m) for m in mean], scale=[float(s) for s in scale], k=k, trained_on=trained_on,
    )  # fmt: skip


def train_pair_scorer(embedder: Embedder, train_root: Path, k: int = 20, regularisation: float = 0.1) -> PairScorer:
    """Fit a scorer for embedder on the photos of train_root (<category>/<photo>): a shopper-style photo of each
    against the exact top-k of all of them (module docstring)."""
    from embedder.evaluation.protocols import folder_images
    from embedder.evaluation.shopper_photo import shopper_photo
    from embedder.rerank import grey_thumbnail

    photos = folder_images(train_root).images
    shots = [shopper_photo(image, seed=TRAINING_SEED_OFFSET + i) for i, image in enumerate(photos)]
    gallery, queries = embedder.embed(photos), embedder.embed(shots)  # (N, D) each
    gallery_thumbs = np.stack([grey_thumbnail(image) for image in photos])
    query_thumbs = np.stack([grey_thumbnail(image) for image in shots])
    features, labels = training_pairs(queries, gallery, query_thumbs, gallery_thumbs, np.arange(len(shots)), k)
    trained_on = {"photos": str(train_root), "queries": len(shots), "pairs": len(labels),
                  "queries_with_original_in_top_k": int(labels.sum()), "regularisation": regularisation}  # fmt: skip
    return fit_pair_scorer(features, labels, embedder.version, k, trained_on, regularisation)
