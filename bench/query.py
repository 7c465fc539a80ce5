"""Search latency of the API: POST /v1/search over real HTTP at 10k and 100k items, 1 / 4 / 16 clients.

Usage: python -m bench.query --model models/catalog.pt --queries ../shared/datasets/clothing-small/test
Needs a running stack (`make stack-up`; `--run-dir` names its run folder). For each size it fills a collection of
its own (model version `bench-query-<size>`, synthetic unit vectors of the model's dimension, and the same items
in Solr with that model version), flushes and waits until Milvus latency settles, then starts the API in a
subprocess (`uvicorn --factory api.app:create_app`, CBIR_API_COLLECTION_VERSION pointing at that collection) and
drives it with N client threads, each with its own keep-alive connection, uploading the test photos (multipart,
k=20) for --seconds per level. Scenarios: `plain` (no filter) and `filtered` (category + price + in stock, ~4 %
of the items). The server's time per stage comes from its `Server-Timing` header (decode, embed, milvus-search,
solr-get, serialise); `http` is the rest of the client-side latency (request parsing, upload, transport).
Removes its collections and Solr documents at the end. Writes reports/bench-query.json and prints a table.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from bench.query_report import write_charts, write_markdown
from bench.report_file import write_report
from bench.stores import (
    CATEGORIES,
    SELECTIVE,
    exact_top_ids,
    selective_matches,
    synthetic_catalog,
    wait_until_settled,
)
from devstack.process import free_port
from devstack.settings import stack_settings_of
from embedder import Embedder
from embedder.data.image_folder import folder_photos
from indexer.catalog_index import CatalogIndex
from indexer.metadata_store import MetadataStore
from indexer.recall_canary import recall_at_k
from indexer.vector_store import VectorStore
from ingest.topics import ensure_ingest_topics
from settings import resolve_settings

SCENARIOS: dict[str, dict[str, Any]] = {
    "plain": {},
    "filtered": {"category": CATEGORIES[0], "price_max": "150", "in_stock": "true"},
}
STAGES = ("decode", "embed", "milvus-search", "solr-get", "serialise")
RECALL_K = 10
RECALL_QUERIES = 100
LOAD_BATCH = 2048
SERVER_TIMING = re.compile(r"([\w-]+);dur=([\d.]+)")
_METRIC = re.compile(r"^(cbir_api_canary_recall_at_10_(?:count|sum)) ([\d.e+-]+)$", re.MULTILINE)


@dataclass(frozen=True)
class Catalog:
    """A filled bench collection and what exact search needs: its items' ids, vectors and filter matches."""

    version: str
    index: CatalogIndex
    ids: NDArray[np.str_]
    vectors: NDArray[np.float32]
    matches: dict[str, NDArray[np.bool_]]  # scenario -> which items pass its filter


def fill(settings: Any, size: int, dim: int) -> Catalog:
    """A collection of size synthetic items (vectors + Solr documents) under its own model version."""
    version = f"bench-query-{size}"
    items, vectors = synthetic_catalog(size, dim, seed=size)
    items = [item.model_copy(update={"model_version": version}) for item in items]
    store = VectorStore.connect(settings.milvus_uri, version, dim, batch_size=LOAD_BATCH)
    metadata = MetadataStore.connect(settings.solr_core_url, batch_size=LOAD_BATCH, commit_within_ms=10_000)
    index = CatalogIndex(store, metadata)
    if store.count() != size or metadata.count(model_version=version) != size:
        for start in tqdm(range(0, size, LOAD_BATCH), desc=f"fill {size}", unit="batch"):
            index.upsert(items[start : start + LOAD_BATCH], vectors[start : start + LOAD_BATCH])
        index.flush()
    probe = np.random.default_rng(0).normal(size=dim).astype(np.float32)
    settled = wait_until_settled(lambda: store.search(probe, 20, SELECTIVE))
    print(f"{size} items in {store.collection}; search latency settled after {settled:.0f} s", flush=True)
    matches = {"plain": np.ones(size, dtype=bool), "filtered": selective_matches(items)}
    return Catalog(version, index, np.array([item.id for item in items]), vectors, matches)


def exact_top(queries: NDArray[np.float32], catalog: Catalog, scenario: str, k: int = RECALL_K) -> list[set[str]]:
    """The ids of the k most cosine-similar matching items of each query, by brute force in numpy."""
    return exact_top_ids(catalog.ids, catalog.vectors, queries, k, catalog.matches[scenario])


def api_recall_at_k(url: str, photos: list[bytes], exact: list[set[str]], fields: dict[str, Any]) -> float:
    """Mean share of the exact top-k that the API's top-k holds, over the same query photos."""
    found = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for photo, truth in zip(photos, exact, strict=True):
            response = http.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                                 data={"k": str(RECALL_K), **fields})  # fmt: skip
            response.raise_for_status()
            found.append(recall_at_k([hit["id"] for hit in response.json()["hits"]], truth))
    return round(float(np.mean(found)), 4)


class ApiProcess:
    """The API in a subprocess (so the load generator does not share its interpreter)."""

    def __init__(
        self, model: Path, version: str, settings: Any, kafka: str, workers: int = 1, canary_interval_s: float = 30,
        extra_env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.port = free_port()
        env = {
            **os.environ,
            "CBIR_EMBEDDING_MODEL_PATH": str(model),
            "CBIR_API_COLLECTION_VERSION": version,
            "CBIR_STORES_MILVUS_URI": settings.milvus_uri,
            "CBIR_STORES_SOLR_CORE_URL": settings.solr_core_url,
            "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS": kafka,
            # all the bench's clients share one address: the per-client rate limit would measure only itself
            "CBIR_API_SEARCH_RATE_PER_S": "0",
            # the synthetic items have no thumbnails to re-rank by (the re-rankers' cost: make bench-rerank-api)
            "CBIR_API_RERANK": "none",
            "CBIR_API_RECALL_CANARY_INTERVAL_S": str(canary_interval_s),
            **(extra_env or {}),
        }
        command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
                   "--port", str(self.port), "--log-level", "warning", "--no-access-log",
                   "--workers", str(workers)]  # fmt: skip
        self.process = subprocess.Popen(command, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the API did not start")

    def canary(self) -> dict[str, Any]:
        """What the API's live recall canary measured so far (its Prometheus histogram's count and mean)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        values = dict(_METRIC.findall(text))
        count = float(values.get("cbir_api_canary_recall_at_10_count", 0))
        total = float(values.get("cbir_api_canary_recall_at_10_sum", 0))
        return {"queries": int(count), f"mean_recall_at_{RECALL_K}": round(total / count, 4) if count else None}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def drive(url: str, photos: list[bytes], clients: int, seconds: float, fields: dict[str, Any]) -> dict[str, Any]:
    """clients threads searching for seconds; latency percentiles, throughput and the mean time per stage."""
    latencies: list[float] = []
    stages: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            n = offset
            while time.monotonic() < stop_at:
                photo = photos[n % len(photos)]
                n += clients
                started = time.perf_counter()
                response = http.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                                     data={"k": "20", **fields})  # fmt: skip
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                        continue
                    latencies.append(elapsed)
                    timing = dict(SERVER_TIMING.findall(response.headers.get("server-timing", "")))
                    server_ms = 0.0
                    for stage, ms in timing.items():
                        stages[stage].append(float(ms))
                        server_ms += float(ms)
                    stages["http"].append(elapsed - server_ms)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    array = np.array(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "throughput_rps": round(len(latencies) / wall, 1),
        **{f"p{q}_ms": round(float(np.percentile(array, q)), 1) if len(array) else None for q in (50, 95, 99)},
        "stage_mean_ms": {stage: round(float(np.mean(values)), 2) for stage, values in stages.items()},
        "stage_p99_ms": {stage: round(float(np.percentile(values, 99)), 2) for stage, values in stages.items()},
    }


def warm_up(url: str, photos: list[bytes]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        for photo in photos[:10]:
            http.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")}, data={"k": "20"})


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'items':>7} {'scenario':<9} {'clients':>7} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7}  stage means (ms)"
    )
    print(header.replace("  stage", f" {'recall':>7}  stage"))
    for row in rows:
        means = " ".join(f"{stage}={row['stage_mean_ms'].get(stage, 0):.1f}" for stage in (*STAGES, "http"))
        recall = row[f"recall_at_{RECALL_K}"]
        print(f"{row['items']:>7} {row['scenario']:<9} {row['clients']:>7} {row['throughput_rps']:>7} "
              f"{row['p50_ms']:>7} {row['p95_ms']:>7} {row['p99_ms']:>7} {recall:>7}  {means}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--queries", type=Path, default=Path("../shared/datasets/clothing-small/test"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--uvicorn-workers", type=int, default=1, help="API processes (uvicorn --workers)")
    parser.add_argument("--seconds", type=float, default=15.0, help="per concurrency level and scenario")
    parser.add_argument("--run-dir", type=Path, default=None, help="run folder of `cbir stack up` (default: run)")
    parser.add_argument("--keep", action="store_true", help="keep the bench collections and documents")
    parser.add_argument(
        "--vector-store", default="milvus-lite (cbir stack)", help="label of the Milvus used, for the report"
    )
    parser.add_argument("--canary-interval-s", type=float, default=30.0, help="the API's recall canary's interval")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-query.json"))
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    embedder = Embedder.load(args.model)
    settings = resolve_settings(run_dir=args.run_dir).stores
    stack = stack_settings_of(args.run_dir)
    photos = [path.read_bytes() for path in folder_photos(args.queries)]
    recall_photos = photos[:RECALL_QUERIES]
    query_vectors = embedder.embed(recall_photos)  # (Q, D): what the API computes for the same photos
    rows: list[dict[str, Any]] = []
    canaries: list[dict[str, Any]] = []
    ensure_ingest_topics(settings, partitions=1)  # as `cbir init-stores` makes them before the API serves
    for size in (int(s) for s in args.sizes.split(",")):
        catalog = fill(settings, size, embedder.dim)
        api = ApiProcess(args.model.resolve(), catalog.version, settings, stack.kafka_bootstrap(), args.uvicorn_workers,
                         args.canary_interval_s)  # fmt: skip
        try:
            warm_up(api.url, photos)
            for scenario, fields in SCENARIOS.items():
                exact = exact_top(query_vectors, catalog, scenario)
                recall = api_recall_at_k(api.url, recall_photos, exact, fields)
                for clients in (int(c) for c in args.clients.split(",")):
                    load_before = os.getloadavg()[0]
                    measured = drive(api.url, photos, clients, args.seconds, fields)
                    load = {"load_1min_before": round(load_before, 2), "load_1min_after": round(os.getloadavg()[0], 2)}
                    row = {"items": size, "scenario": scenario, **measured, f"recall_at_{RECALL_K}": recall, **load}
                    rows.append(row)
                    print_table([row])
            canaries.append({"items": size, **api.canary()})
            print(f"live recall canary at {size} items: {canaries[-1]}")
        finally:
            api.stop()
            if not args.keep:
                catalog.index.vectors.drop()
                catalog.index.metadata.solr.delete(q=f'model_version:"{catalog.version}"', commit=True)
    report = {
        "command": " ".join(["python -m bench.query", *sys.argv[1:]]),
        "model": str(args.model),
        "model_version": embedder.version,
        "dim": embedder.dim,
        "milvus_uri": settings.milvus_uri,
        "vector_store": args.vector_store,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "seconds_per_level": args.seconds,
        "uvicorn_workers": args.uvicorn_workers,
        "k": 20,
        "recall": f"recall@{RECALL_K} of the API's top {RECALL_K} against numpy's exact top {RECALL_K} (cosine, same "
        f"filter) over {len(recall_photos)} query photos, measured once per size and scenario",
        "load_average_at_start": load_at_start,
        "rows": rows,
        "canary": canaries,
        "canary_note": f"the API's live recall canary (CBIR_API_RECALL_CANARY_RATE, every {args.canary_interval_s} s)"
        " over the whole run of each size: sampled queries of every scenario re-run through the index and exactly",
    }
    write_report(args.out, report)
    charts = write_charts(report, args.out)
    write_markdown(report, args.out.with_suffix(".md"), charts)
    print_table(rows)
    print(f"wrote {args.out}, {args.out.with_suffix('.md')} and {', '.join(str(chart) for chart in charts)}")


if __name__ == "__main__":
    main()
