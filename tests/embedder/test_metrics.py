"""Retrieval metrics against examples computed by hand."""

import numpy as np
import pytest

from embedder.evaluation.metrics import ranking_metrics, retrieval_metrics


def unit(angle_degrees: float) -> list[float]:
    a = np.deg2rad(angle_degrees)
    return [np.cos(a), np.sin(a)]


def test_one_query_ranked_by_hand() -> None:
    # Query at 0 degrees; gallery at 10, 20, 30, 40 degrees ranks g0, g1, g2, g3.
    query = np.array([unit(0)], np.float32)
    gallery = np.array([unit(10), unit(20), unit(30), unit(40)], np.float32)
    # Relevance by rank: no, yes, no, yes.
    metrics = retrieval_metrics(query, np.array([7]), gallery, np.array([1, 7, 2, 7]), map_at=2, precision_at=2)
    assert metrics["R@1"] == 0.0
    assert metrics["R@2"] == 1.0 and metrics["R@4"] == 1.0
    # AP@all = (P@2 + P@4) / 2 = (1/2 + 2/4) / 2
    assert metrics["mAP@all"] == pytest.approx(0.5)
    # AP@2 = P@2 * 1 / min(R=2, K=2) = 0.5 / 2
    assert metrics["mAP@2"] == pytest.approx(0.25)
    assert metrics["P@2"] == pytest.approx(0.5)


def test_two_queries_are_averaged() -> None:
    gallery = np.array([unit(0), unit(90)], np.float32)
    queries = np.array([unit(5), unit(85)], np.float32)
    # First query ranks (g0, g1) and wants g1: AP = 1/2. Second ranks (g1, g0) and wants g1: AP = 1.
    metrics = retrieval_metrics(queries, np.array([1, 1]), gallery, np.array([0, 1]))
    assert metrics["mAP@all"] == pytest.approx(0.75)
    assert metrics["R@1"] == pytest.approx(0.5)


def test_leave_one_out_removes_the_query_itself() -> None:
    points = np.array([unit(0), unit(1), unit(60), unit(61)], np.float32)
    labels = np.array([0, 1, 1, 0])
    # Item 0's neighbours without itself: item 1 (label 1), then 2 (1), then 3 (0): relevant at rank 3.
    metrics = retrieval_metrics(points[:1], labels[:1], points, labels, leave_one_out=False)
    assert metrics["R@1"] == 1.0  # without leave-one-out, the query finds itself
    loo = retrieval_metrics(points, labels, points, labels, leave_one_out=True)
    # Rank of the first relevant item: item0 -> 3, item1 -> 2, item2 -> 2, item3 -> 3.
    assert loo["R@1"] == 0.0
    assert loo["R@2"] == pytest.approx(0.5)
    assert loo["mAP@all"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 2 + 1 / 3) / 4)


def test_perfect_ranking_scores_one() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(4, dtype=np.float32)
    labels = np.repeat(np.arange(4), 5)
    points = centres[labels] + rng.normal(0, 0.01, (20, 4)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    metrics = retrieval_metrics(points, labels, points, labels, leave_one_out=True, precision_at=4)
    assert metrics["mAP@all"] == pytest.approx(1.0)
    assert metrics["mAP@1000"] == pytest.approx(1.0)
    assert metrics["P@4"] == pytest.approx(1.0)


def test_leave_one_out_needs_matching_sets() -> None:
    with pytest.raises(ValueError):
        retrieval_metrics(
            np.ones((2, 2), np.float32),
            np.zeros(2),
            np.ones((3, 2), np.float32),
            np.zeros(3),
            leave_one_out=True,
        )


def test_ranking_metrics_by_hand() -> None:
    # Query 1 returns (no, yes, no, yes) of its 3 relevant items (one never returned): AP = (1/2 + 2/4) / 3.
    # Query 2 returns nothing of its 2 relevant items: AP = 0. Query 3 has no relevant item: not in mAP.
    metrics = ranking_metrics([[False, True, False, True], [], [False]], [3, 2, 0], ks=(1, 2))
    assert metrics["R@1"] == 0.0
    assert metrics["R@2"] == pytest.approx(1 / 3)
    assert metrics["mAP"] == pytest.approx(((1 / 2 + 2 / 4) / 3 + 0) / 2)


def test_ranking_metrics_perfect_ranking() -> None:
    metrics = ranking_metrics([[True, True, False]], [2], ks=(1, 10))
    assert metrics == {"R@1": 1.0, "R@10": 1.0, "mAP": 1.0}
