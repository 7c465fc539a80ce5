"""Exact retrieval metrics over a full cosine-similarity ranking of the gallery.

For each query the whole gallery is ranked by cosine similarity (embeddings are unit length, so a dot
product), and `relevant` marks the gallery items that share the query's label. Then:

- R@k: share of queries with at least one relevant item among the first k results.
- AP@all: mean over the ranks i of every relevant item of precision@i (all relevant items counted).
- AP@K (K = 1000): sum over relevant items within the first K of precision@i, divided by min(R, K),
  where R is the query's number of relevant items (so a perfect top-K scores 1).
- P@k: share of relevant items among the first k results.

mAP is the mean of AP over queries that have at least one relevant item. With `leave_one_out`, query i
is gallery item i and is removed from its own ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

RECALL_KS = (1, 2, 4, 8)


def retrieval_metrics(
    queries: np.ndarray,
    query_labels: np.ndarray,
    gallery: np.ndarray,
    gallery_labels: np.ndarray,
    leave_one_out: bool = False,
    chunk: int = 256,
    map_at: int = 1000,
    precision_at: int = 100,
) -> dict[str, float]:
    """queries (Q, D), gallery (N, D), L2-normalised rows -> {"R@1": .., "mAP@all": .., ...}."""
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    g = torch.from_numpy(np.ascontiguousarray(gallery, dtype=np.float32))
    q_labels, g_labels = torch.as_tensor(query_labels), torch.as_tensor(gallery_labels)
    if leave_one_out and q.shape[0] != g.shape[0]:
        raise ValueError("leave_one_out needs the queries to be the gallery")
    sums = dict.fromkeys([f"R@{k}" for k in RECALL_KS] + ["mAP@all", f"mAP@{map_at}", f"P@{precision_at}"], 0.0)
    counted = 0
    for start in range(0, q.shape[0], chunk):
        stop = min(start + chunk, q.shape[0])
        sims = q[start:stop] @ g.T  # (c, N)
        relevant = q_labels[start:stop, None] == g_labels[None, :]  # (c, N)
        if leave_one_out:
            rows = torch.arange(stop - start)
            sims[rows, rows + start] = -torch.inf  # self goes last...
            relevant[rows, rows + start] = False  # ...and does not count
        order = sims.argsort(dim=1, descending=True, stable=True)
        hits = relevant.gather(1, order).float()  # (c, N): 1 where the result at that rank is relevant
        n_relevant = relevant.sum(1).float()  # (c,)
        has_relevant = n_relevant > 0
        ranks = torch.arange(1, hits.shape[1] + 1, dtype=torch.float32)
        precision = hits.cumsum(1) / ranks  # (c, N): precision@i
        ap_all = (precision * hits).sum(1) / n_relevant.clamp(min=1)
        top = min(map_at, hits.shape[1])
        ap_k = (precision[:, :top] * hits[:, :top]).sum(1) / n_relevant.clamp(min=1, max=top)
        for k in RECALL_KS:
            sums[f"R@{k}"] += hits[:, :k].amax(1).sum().item()
        sums["mAP@all"] += ap_all[has_relevant].sum().item()
        sums[f"mAP@{map_at}"] += ap_k[has_relevant].sum().item()
        sums[f"P@{precision_at}"] += (hits[:, :precision_at].sum(1) / precision_at).sum().item()
        counted += int(has_relevant.sum())
    n_queries = q.shape[0]
    return {
        name: value / (counted if name.startswith("mAP") else n_queries) if n_queries else 0.0
        for name, value in sums.items()
    }


def ranking_metrics(hits: Sequence[Sequence[bool]], n_relevant: Sequence[int], ks: Sequence[int] = (1, 10)) -> dict:
    """Metrics of given rankings (BM25, fused, ...) that may stop early: hits[q][i] says whether query q's result
    at rank i + 1 is relevant, n_relevant[q] how many relevant items exist. R@k: share of queries with a relevant
    item in the first k; AP: mean over all n_relevant items of precision at their rank (an item the ranking never
    returns adds 0); mAP averages AP over queries with at least one relevant item."""
    recall = dict.fromkeys(ks, 0.0)
    aps = []
    for row, total in zip(hits, n_relevant, strict=True):
        flags = np.asarray(row, dtype=bool)
        for k in ks:
            recall[k] += float(flags[:k].any())
        if total:
            ranks = np.flatnonzero(flags) + 1  # 1-based ranks of the relevant results
            aps.append(float((np.arange(1, len(ranks) + 1) / ranks).sum() / total))
    n = max(len(hits), 1)
    return {**{f"R@{k}": recall[k] / n for k in ks}, "mAP": float(np.mean(aps)) if aps else 0.0}
