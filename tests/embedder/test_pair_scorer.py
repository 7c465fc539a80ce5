"""The learned re-ranker's pairwise scorer: its features, its fit, its file."""

from pathlib import Path

import numpy as np
import pytest

from embedder import CheckpointError, Embedder
from embedder.pair_scorer import SCALAR_FEATURES, PairScorer, fit_pair_scorer, pair_features, train_pair_scorer
from tests.synthetic import COLOURS, coloured_image


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_pair_features_describe_each_candidate_in_first_stage_order() -> None:
    rng = np.random.default_rng(0)
    query, candidates = unit(rng.normal(size=(1, 8)))[0], unit(rng.normal(size=(5, 8)))
    thumbs = rng.uniform(0, 255, size=(5, 32, 24)).astype(np.float32)
    features = pair_features(query, candidates, thumbs[0], thumbs)
    assert features.shape == (5, len(SCALAR_FEATURES) + 8)
    np.testing.assert_allclose(features[:, 0], candidates @ query, rtol=1e-5)  # cosine
    assert features[0, 1] == pytest.approx(1.0)  # SSIM of the query's own thumbnail
    np.testing.assert_allclose(features[:, 3], np.linspace(0, 1, 5))  # first-stage rank
    np.testing.assert_allclose(features[:, len(SCALAR_FEATURES) :].sum(axis=1), candidates @ query, rtol=1e-5)


def test_a_fitted_scorer_ranks_the_positive_first_and_survives_its_file(tmp_path: Path) -> None:
    """Pairs whose label is told by one product dimension: the scorer learns to put them first."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(400, len(SCALAR_FEATURES) + 4)).astype(np.float32)
    labels = (features[:, len(SCALAR_FEATURES) + 2] > 1.0).astype(np.int64)
    scorer = fit_pair_scorer(features, labels, "v1", k=20, trained_on={"pairs": 400})
    scores = scorer.score(features)
    assert scores[labels == 1].min() > np.median(scores[labels == 0])
    scorer.save(tmp_path / "scorer.json")
    loaded = PairScorer.load(tmp_path / "scorer.json")
    assert loaded == scorer
    np.testing.assert_allclose(loaded.score(features), scores)


def test_a_file_that_is_not_a_scorer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a cbir-pair-scorer/1"):
        PairScorer.load(tmp_path / "other.json")
    with pytest.raises(CheckpointError, match="cannot read"):
        PairScorer.load(tmp_path / "missing.json")


def test_training_on_a_photo_folder_gives_a_scorer_of_that_model(tmp_path: Path, tiny_checkpoint: Path) -> None:
    for label, colour in enumerate(COLOURS):
        (tmp_path / f"c{label}").mkdir()
        for i in range(6):
            coloured_image(colour, seed=300 + 10 * label + i).save(tmp_path / f"c{label}" / f"{i}.png")
    embedder = Embedder.load(tiny_checkpoint)
    scorer = train_pair_scorer(embedder, tmp_path, k=5)
    assert scorer.model_version == embedder.version and scorer.k == 5
    assert len(scorer.weights) == len(SCALAR_FEATURES) + embedder.dim
    assert (
        scorer.trained_on["queries"] == 18
        and scorer.trained_on["pairs"] == 5 * scorer.trained_on["queries_with_original_in_top_k"]
    )
