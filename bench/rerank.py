"""Does a second look improve the first-stage ranking? The shopper-photo protocol, offline (no stores).

Usage: python -m bench.rerank --model models/catalog.pt --catalog ../shared/datasets/clothing-small
Each test photo, distorted into a shopper's photo (embedder/evaluation/shopper_photo.py), queries all catalog
photos (train + test); only its original is relevant. The first stage is the exact cosine top-K of the
embeddings (what Milvus returns); each reranker reorders those K with the grey thumbnails (embedder/rerank.py),
precomputed as a store would keep them, and `learned` with the embeddings too (--scorer, embedder/pair_scorer.py,
trained on the train split by `cbir train-pair-scorer`). Reports R@1, R@5, MRR@K and the reranking time per
query (p50/p99, thumbnails in memory: the Solr round trip that would fetch them is not counted).
Prints a table and writes reports/bench-rerank.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import get_args

import numpy as np

from bench.report_file import write_report
from embedder import Embedder
from embedder.evaluation.protocols import catalog_protocols
from embedder.pair_scorer import PairScorer
from embedder.rerank import THUMBNAIL_SIZE, Reranker, grey_thumbnail, rerank


def measure(
    queries: np.ndarray, gallery: np.ndarray, query_thumbs: np.ndarray, gallery_thumbs: np.ndarray,
    relevant: np.ndarray, k: int, how: Reranker, scorer: PairScorer,
) -> dict[str, float | str]:  # fmt: skip
    """R@1, R@5, MRR@k and reranking latency (ms p50/p99) of one reranker over every query."""
    ranks, latencies = [], []
    for q in range(len(queries)):
        cosine = gallery @ queries[q]  # (N,)
        top = np.argsort(-cosine, kind="stable")[:k]
        started = time.perf_counter()
        if how == "learned":
            order = top[scorer.order(queries[q], gallery[top], query_thumbs[q], gallery_thumbs[top])]
        else:
            order = top[rerank(query_thumbs[q], gallery_thumbs[top], cosine[top], how)]
        latencies.append(1000 * (time.perf_counter() - started))
        hit = np.flatnonzero(order == relevant[q])
        ranks.append(int(hit[0]) + 1 if len(hit) else None)
    n = len(ranks)
    return {
        "reranker": how,
        "R@1": sum(r == 1 for r in ranks) / n,
        "R@5": sum(r is not None and r <= 5 for r in ranks) / n,
        f"MRR@{k}": sum(1 / r for r in ranks if r is not None) / n,
        "ms_p50": float(np.percentile(latencies, 50)),
        "ms_p99": float(np.percentile(latencies, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--k", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scorer", type=Path, default=Path("models/pair-scorer.json"))
    parser.add_argument("--out", type=Path, default=Path("reports/bench-rerank.json"))
    args = parser.parse_args()

    protocol = next(p for p in catalog_protocols(args.catalog) if p.name == "catalog-shopper-photo")
    embedder = Embedder.load(args.model, batch_size=256, threads=args.threads)
    scorer = PairScorer.load(args.scorer)
    gallery, queries = embedder.embed(protocol.gallery.images), embedder.embed(protocol.queries.images)
    gallery_thumbs = np.stack([grey_thumbnail(image) for image in protocol.gallery.images])
    query_thumbs = np.stack([grey_thumbnail(image) for image in protocol.queries.images])
    relevant = protocol.queries.labels  # the gallery index of each query's original
    rows = [
        {"k": k, **measure(queries, gallery, query_thumbs, gallery_thumbs, relevant, k, how, scorer)}
        for k in args.k
        for how in get_args(Reranker)
    ]
    result = {
        "command": f"python -m bench.rerank --model {args.model} --catalog {args.catalog} "
        f"--k {' '.join(map(str, args.k))} --threads {args.threads} --scorer {args.scorer} --out {args.out}",
        "scorer": {"path": str(args.scorer), "k": scorer.k, **scorer.trained_on},
        "protocol": protocol.description,
        "model_version": embedder.version,
        "thumbnail": f"{THUMBNAIL_SIZE[0]}x{THUMBNAIL_SIZE[1]} grey",
        "queries": len(queries),
        "results": rows,
    }
    print(f"{'k':>4} {'reranker':>12} {'R@1':>6} {'R@5':>6} {'MRR@k':>6} {'ms p50':>7} {'ms p99':>7}")
    for row in rows:
        mrr = row[f"MRR@{row['k']}"]
        print(
            f"{row['k']:>4} {row['reranker']:>12} {row['R@1']:>6.3f} {row['R@5']:>6.3f} {mrr:>6.3f} "
            f"{row['ms_p50']:>7.2f} {row['ms_p99']:>7.2f}"
        )
    write_report(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
