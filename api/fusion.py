"""Combining the image ranking (Milvus) with the text ranking (Solr): reciprocal rank fusion, and collapsing.

RRF (Cormack et al., 2009): an item's fused score is the sum over the rankings it appears in of
`weight / (k + rank)`, rank starting at 1. It needs no score calibration between cosine similarities and
BM25 scores, which live on unrelated scales, and an item that is good in both rankings beats one that is
excellent in only one of them. Ties are broken by the image ranking, then by id, so the order is stable.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class FusedHit:
    """One item of the fused ranking, with what each ranking said about it."""

    id: str
    score: float
    image_score: float | None
    image_rank: int | None
    text_rank: int | None


def reciprocal_rank_fusion(
    image_ranking: Sequence[tuple[str, float]],
    text_ranking: Sequence[str],
    k: float = 60.0,
    image_weight: float = 1.0,
    text_weight: float = 1.0,
) -> list[FusedHit]:
    """Fuse (id, similarity) best-first image hits with best-first text hit ids; best first."""
    image_rank = {item_id: rank for rank, (item_id, _) in enumerate(image_ranking, 1)}
    image_score = dict(image_ranking)
    text_rank: dict[str, int] = {}
    for rank, item_id in enumerate(text_ranking, 1):
        text_rank.setdefault(item_id, rank)
    fused = []
    for item_id in image_rank.keys() | text_rank.keys():
        score = 0.0
        if item_id in image_rank:
            score += image_weight / (k + image_rank[item_id])
        if item_id in text_rank:
            score += text_weight / (k + text_rank[item_id])
        fused.append(
            FusedHit(item_id, score, image_score.get(item_id), image_rank.get(item_id), text_rank.get(item_id))
        )
    unranked = len(image_rank) + 1
    fused.sort(key=lambda hit: (-hit.score, hit.image_rank or unranked, hit.id))
    return fused


def collapse(hits: Sequence[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first (best) hit of each key, in order: one result per product."""
    seen: set[Hashable] = set()
    kept = []
    for hit in hits:
        group = key(hit)
        if group not in seen:
            seen.add(group)
            kept.append(hit)
    return kept
