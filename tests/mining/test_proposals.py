"""Clusters become proposals: an unlabelled blob is a new category, a stray label in a pure cluster is flagged."""

import numpy as np
import pytest
from numpy.typing import NDArray

from mining.proposals import MiningSettings, propose


def blobs(names: list[str], per_blob: int = 60, dim: int = 16, seed: int = 0) -> tuple[NDArray[np.float32], list[str]]:
    """One tight cluster of unit vectors per name, around random centres, with the name as every item's category."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(names), dim))
    vectors = np.concatenate([c + 0.15 * rng.normal(size=(per_blob, dim)) for c in centres]).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), [n for n in names for _ in range(per_blob)]


def test_an_unlabelled_cluster_is_proposed_as_a_new_category() -> None:
    vectors, categories = blobs(["shirt", "dress", "hat", "unlabelled"])
    ids = [f"item-{i}" for i in range(len(categories))]
    report = propose(vectors, ids, categories, MiningSettings(min_size=5))
    assert report.known_categories == ["dress", "hat", "shirt"]
    new = report.new_categories
    assert new, "the unlabelled blob must be proposed"
    unlabelled_ids = {ids[i] for i, c in enumerate(categories) if c == "unlabelled"}
    best = max(new, key=lambda p: len(unlabelled_ids & set(p.item_ids)))
    hits = len(unlabelled_ids & set(best.item_ids))
    assert hits / best.size >= 0.8 and hits / len(unlabelled_ids) >= 0.5
    assert best.distance_to_nearest > 0.1 and best.nearest_category in report.known_categories


def test_an_item_whose_label_disagrees_with_its_pure_cluster_is_flagged() -> None:
    vectors, categories = blobs(["shirt", "dress", "hat"])
    categories[3] = "dress"  # a shirt photo labelled dress
    ids = [f"item-{i}" for i in range(len(categories))]
    report = propose(vectors, ids, categories, MiningSettings(clusters=3, min_size=5))
    flagged = {item for proposal in report.proposals for item in proposal.mislabelled}
    assert flagged == {"item-3"}
    assert not report.new_categories


def test_inputs_must_line_up() -> None:
    vectors, categories = blobs(["shirt", "dress"])
    with pytest.raises(ValueError, match="vectors"):
        propose(vectors, ["one"], categories)
