"""Re-ranking through the API: bench/rerank.py's shopper-photo protocol, asked over HTTP, once per re-ranker.

Usage: python -m bench.rerank_api --model models/catalog.pt --catalog ../shared/datasets/clothing-small
Needs a running stack (`make stack-up`). Indexes every catalog photo (train + test) under a model version of its
own: the model's embeddings in Milvus, the photos' grey thumbnails and synthetic metadata in Solr. Then starts the
API in a subprocess (bench/query.py's ApiProcess) and posts each shopper photo (JPEG) to POST /v1/search with k=20
and each `rerank` value, one request at a time. For each re-ranker it reports R@1, R@5 and MRR@20 of the photo's
original, the client's latency p50/p99 and the server's mean time in the re-rank stage. Thumbnails come from Solr
as the served API gets them. Removes its collection and documents at the end; writes reports/bench-rerank-api.json.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any, get_args

import httpx
import numpy as np
from PIL import Image
from tqdm import tqdm

from bench.query import SERVER_TIMING, ApiProcess
from bench.report_file import write_report
from bench.stores import synthetic_catalog
from devstack.settings import stack_settings_of
from embedder import Embedder
from embedder.evaluation.protocols import catalog_protocols
from embedder.rerank import Reranker, thumbnail_text
from indexer.catalog_index import CatalogIndex
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore
from indexer.vector_store import VectorStore
from settings import resolve_settings

K = 20
VERSION = "bench-rerank-api"
LOAD_BATCH = 512


def jpeg(image: Image.Image) -> bytes:
    """The photo as a shopper's phone would upload it."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def index_gallery(stores: Any, embedder: Embedder, images: list[Image.Image]) -> tuple[CatalogIndex, list[str]]:
    """Every gallery photo as an item of VERSION (its embedding, its thumbnail); the index and the item ids."""
    items, _ = synthetic_catalog(len(images), embedder.dim, seed=1)
    items = [
        item.model_copy(update={"model_version": VERSION, "thumbnail": thumbnail_text(image)})
        for item, image in zip(items, images, strict=True)
    ]
    vectors = embedder.embed(images)
    index = CatalogIndex(
        VectorStore.connect(stores.milvus_uri, VERSION, embedder.dim, batch_size=LOAD_BATCH),
        MetadataStore.connect(stores.solr_core_url, batch_size=LOAD_BATCH, commit_within_ms=1_000),
    )
    for start in tqdm(range(0, len(items), LOAD_BATCH), desc="index gallery", unit="batch"):
        batch: list[CatalogItem] = items[start : start + LOAD_BATCH]
        index.upsert(batch, vectors[start : start + LOAD_BATCH])
    index.flush()
    return index, [item.id for item in items]


def measure(url: str, queries: list[bytes], relevant: list[str], how: Reranker) -> dict[str, Any]:
    """R@1, R@5, MRR@K of the relevant items and the latencies, over every query sent with rerank=how."""
    ranks: list[int | None] = []
    latencies, rerank_ms = [], []
    with httpx.Client(base_url=url, timeout=60) as http:
        for photo, wanted in tqdm(list(zip(queries, relevant, strict=True)), desc=how, unit="query"):
            started = time.perf_counter()
            response = http.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                                 data={"k": str(K), "rerank": how})  # fmt: skip
            latencies.append(1000 * (time.perf_counter() - started))
            response.raise_for_status()
            body = response.json()
            if body["rerank"] != how:  # an item without a thumbnail turns re-ranking off for its page
                raise RuntimeError(f"the API re-ranked with {body['rerank']}, not {how}")
            stages = dict(SERVER_TIMING.findall(response.headers.get("server-timing", "")))
            rerank_ms.append(float(stages.get("rerank", 0.0)))
            ids = [hit["id"] for hit in body["hits"]]
            ranks.append(ids.index(wanted) + 1 if wanted in ids else None)
    n = len(ranks)
    return {
        "reranker": how,
        "R@1": round(sum(r == 1 for r in ranks) / n, 4),
        "R@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        f"MRR@{K}": round(sum(1 / r for r in ranks if r is not None) / n, 4),
        "ms_p50": round(float(np.percentile(latencies, 50)), 1),
        "ms_p99": round(float(np.percentile(latencies, 99)), 1),
        "rerank_stage_ms_mean": round(float(np.mean(rerank_ms)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--run-dir", type=Path, default=None, help="run folder of `cbir stack up` (default: run)")
    parser.add_argument("--scorer", type=Path, default=Path("models/pair-scorer.json"), help="the learned re-ranker")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-rerank-api.json"))
    args = parser.parse_args()

    protocol = next(p for p in catalog_protocols(args.catalog) if p.name == "catalog-shopper-photo")
    embedder = Embedder.load(args.model, batch_size=256)
    stores = resolve_settings(run_dir=args.run_dir).stores
    index, ids = index_gallery(stores, embedder, protocol.gallery.images)
    queries = [jpeg(image) for image in protocol.queries.images]
    relevant = [ids[label] for label in protocol.queries.labels]  # the item of each shopper photo's original
    api = ApiProcess(args.model.resolve(), VERSION, stores, stack_settings_of(args.run_dir).kafka_bootstrap(),
                     extra_env={"CBIR_EMBEDDING_PAIR_SCORER_PATH": str(args.scorer.resolve())})  # fmt: skip
    try:
        rows = [measure(api.url, queries, relevant, how) for how in get_args(Reranker)]
    finally:
        api.stop()
        index.vectors.drop()
        index.metadata.solr.delete(q=f'model_version:"{VERSION}"', commit=True)
    report = {
        "command": " ".join(["python -m bench.rerank_api", *sys.argv[1:]]),
        "protocol": protocol.description + "; each shopper photo uploaded as a JPEG (quality 90) to POST /v1/search",
        "model_version": embedder.version,
        "k": K,
        "queries": len(queries),
        "latency": "client-side, one request at a time, same machine; rerank_stage_ms_mean from Server-Timing",
        "results": rows,
    }
    print(f"{'reranker':>12} {'R@1':>6} {'R@5':>6} {'MRR':>6} {'ms p50':>7} {'ms p99':>7} {'rerank ms':>9}")
    for row in rows:
        print(f"{row['reranker']:>12} {row['R@1']:>6.3f} {row['R@5']:>6.3f} {row[f'MRR@{K}']:>6.3f} "
              f"{row['ms_p50']:>7} {row['ms_p99']:>7} {row['rerank_stage_ms_mean']:>9}")  # fmt: skip
    write_report(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
