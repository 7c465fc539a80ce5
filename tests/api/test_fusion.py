"""Reciprocal rank fusion and collapsing, against hand-computed examples."""

import pytest

from api.fusion import collapse, reciprocal_rank_fusion


def test_rrf_scores_by_hand() -> None:
    image = [("a", 0.9), ("b", 0.8), ("c", 0.7)]
    text = ["c", "d"]
    fused = reciprocal_rank_fusion(image, text, k=60)
    by_id = {hit.id: hit for hit in fused}
    assert by_id["a"].score == pytest.approx(1 / 61)
    assert by_id["b"].score == pytest.approx(1 / 62)
    assert by_id["c"].score == pytest.approx(1 / 63 + 1 / 61)
    assert by_id["d"].score == pytest.approx(1 / 62)
    assert [hit.id for hit in fused] == ["c", "a", "b", "d"]  # b and d tie: the image ranking breaks the tie
    assert (by_id["d"].image_score, by_id["d"].image_rank, by_id["d"].text_rank) == (None, None, 2)
    assert (by_id["c"].image_score, by_id["c"].image_rank, by_id["c"].text_rank) == (0.7, 3, 1)


def test_rrf_without_text_keeps_the_image_order() -> None:
    image = [("x", 0.5), ("y", 0.4), ("z", 0.1)]
    assert [hit.id for hit in reciprocal_rank_fusion(image, [])] == ["x", "y", "z"]


def test_rrf_weights_and_constant() -> None:
    fused = reciprocal_rank_fusion([("a", 1.0), ("b", 0.5)], ["b"], k=1, image_weight=1.0, text_weight=0.1)
    assert [hit.id for hit in fused] == ["a", "b"]  # 1/2 beats 1/3 + 0.1/2
    fused = reciprocal_rank_fusion([("a", 1.0), ("b", 0.5)], ["b"], k=1, text_weight=1.0)
    assert [hit.id for hit in fused] == ["b", "a"]  # 1/3 + 1/2 beats 1/2


def test_a_repeated_text_hit_counts_once_at_its_best_rank() -> None:
    fused = reciprocal_rank_fusion([], ["a", "a", "b"], k=60)
    assert [(hit.id, hit.text_rank) for hit in fused] == [("a", 1), ("b", 3)]


def test_collapse_keeps_the_first_of_each_group_in_order() -> None:
    hits = [("i1", "P1"), ("i2", "P2"), ("i3", "P1"), ("i4", "P3"), ("i5", "P2")]
    assert collapse(hits, key=lambda hit: hit[1]) == [("i1", "P1"), ("i2", "P2"), ("i4", "P3")]
    assert collapse([], key=lambda hit: hit) == []
