"""Cluster the catalog's vectors and propose new categories and likely mislabelled items.

Knows vectors, item ids and category names only: reading them from the stores is the caller's job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans, MiniBatchKMeans

UNLABELLED = frozenset({"", "unlabelled", "unknown", "clothing"})  # categories that name no known class
EXACT_KMEANS_MAX = 2000  # up to this many items, exact k-means (ten starts): mini-batch's few starts vary with order


@dataclass(frozen=True)
class MiningSettings:
    """How clusters are made and judged."""

    clusters: int = 0  # 0: twice the number of known categories, at least 8
    min_size: int = 10  # smaller clusters are never proposed
    new_when_unlabelled_share: float = 0.5  # a cluster mostly of unlabelled items is a new-category candidate
    mislabel_purity: float = 0.8  # in a cluster this pure, an item of another known category looks mislabelled
    seed: int = 0


@dataclass
class ClusterProposal:
    """One cluster: its members, how pure it is and how far its centre is from every known category's."""

    cluster: int
    kind: str  # "new_category" or "known"
    size: int
    item_ids: list[str]
    majority_category: str
    purity: float  # share of the members whose category is the majority one (unlabelled members count too)
    unlabelled_share: float
    nearest_category: str
    distance_to_nearest: float  # cosine distance from the cluster's centre to the nearest known category's centre
    mislabelled: list[str] = field(default_factory=list)  # members whose category disagrees with a pure cluster


@dataclass
class MiningReport:
    """Everything `cbir mine` found, ready to write as JSON for the annotation page."""

    items: int
    known_categories: list[str]
    proposals: list[ClusterProposal]

    @property
    def new_categories(self) -> list[ClusterProposal]:
        return [p for p in self.proposals if p.kind == "new_category"]

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "known_categories": self.known_categories,
                "proposals": [asdict(p) for p in self.proposals]}  # fmt: skip


def _unit(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows scaled to unit length (cosine geometry for k-means)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def cluster_labels(vectors: NDArray[np.float32], clusters: int, seed: int = 0) -> NDArray[np.int64]:
    """k-means on unit vectors: (N, D) -> (N,) cluster ids. Exact with ten k-means++ starts on a small catalog, whose
    clusters must not depend on the order the store returns its items in; mini-batch above (100k items: seconds)."""
    if len(vectors) <= EXACT_KMEANS_MAX:
        exact = KMeans(n_clusters=clusters, random_state=seed, n_init=10)
        return exact.fit_predict(_unit(vectors)).astype(np.int64)
    model = MiniBatchKMeans(n_clusters=clusters, random_state=seed, batch_size=4096, n_init=3)
    return model.fit_predict(_unit(vectors)).astype(np.int64)


def category_centres(vectors: NDArray[np.float32], categories: Sequence[str]) -> dict[str, NDArray[np.float32]]:
    """The unit mean vector of each known category."""
    unit = _unit(vectors)
    names = sorted({c for c in categories if c not in UNLABELLED})
    array = np.asarray(categories)
    return {name: _unit(unit[array == name].mean(axis=0, keepdims=True))[0] for name in names}


def _score(
    cluster: int, members: NDArray[np.int64], unit: NDArray[np.float32], ids: Sequence[str],
    categories: Sequence[str], centres: dict[str, NDArray[np.float32]], settings: MiningSettings,
) -> ClusterProposal:  # fmt: skip
    """Purity, unlabelled share and distance to the nearest known centre of one cluster."""
    member_categories = [categories[i] for i in members]
    counts = Counter("" if c in UNLABELLED else c for c in member_categories)
    majority, majority_count = counts.most_common(1)[0]
    unlabelled_share = counts.get("", 0) / len(members)
    centre = _unit(unit[members].mean(axis=0, keepdims=True))[0]
    distances = {name: float(1.0 - centre @ c) for name, c in centres.items()}
    nearest = min(distances, key=distances.__getitem__) if distances else ""
    is_new = unlabelled_share >= settings.new_when_unlabelled_share
    purity = majority_count / len(members)
    mislabelled = []
    if not is_new and majority and purity >= settings.mislabel_purity:
        stray = UNLABELLED | {majority}
        mislabelled = [ids[i] for i, c in zip(members, member_categories, strict=True) if c not in stray]
    return ClusterProposal(
        cluster=cluster, kind="new_category" if is_new else "known", size=len(members),
        item_ids=[ids[i] for i in members], majority_category=majority or "(unlabelled)", purity=round(purity, 4),
        unlabelled_share=round(unlabelled_share, 4), nearest_category=nearest,
        distance_to_nearest=round(distances.get(nearest, 1.0), 4), mislabelled=mislabelled,
    )  # fmt: skip


def propose(
    vectors: NDArray[np.float32], ids: Sequence[str], categories: Sequence[str],
    settings: MiningSettings | None = None,
) -> MiningReport:  # fmt: skip
    """Cluster the vectors and score every cluster; new-category candidates first, the largest first."""
    settings = settings or MiningSettings()
    if not len(ids) == len(categories) == len(vectors):
        raise ValueError(f"{len(vectors)} vectors, {len(ids)} ids and {len(categories)} categories")
    centres = category_centres(vectors, categories)
    k = settings.clusters or max(8, 2 * len(centres))
    k = min(k, len(ids))
    labels = cluster_labels(vectors, k, settings.seed)
    unit = _unit(vectors)
    proposals = [
        _score(int(c), np.flatnonzero(labels == c), unit, ids, categories, centres, settings)
        for c in np.unique(labels)
        if (labels == c).sum() >= settings.min_size
    ]
    proposals.sort(key=lambda p: (p.kind != "new_category", -p.size))
    return MiningReport(items=len(ids), known_categories=sorted(centres), proposals=proposals)
