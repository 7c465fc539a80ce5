"""Benchmark of the two stores: upsert throughput (Milvus, Solr) and filtered top-10 search latency (Milvus).

Needs a running stack (`make stack-up`); the stores are found through the store settings
(CBIR_STORES_MILVUS_URI, CBIR_STORES_SOLR_CORE_URL). Writes only to collections named `catalog_bench_*` and
to Solr documents with model_version `bench`, and removes them afterwards.

    .venv/bin/python -m bench.stores --sizes 10000,100000 --out reports/bench_stores.json

Each search size also reports recall@10 against exact search (numpy) on the same probes, plain and filtered, for
every search-parameter setting swept (`--index-type HNSW --build-params '{"M": 16, "efConstruction": 200}'
--search-params '[{"ef": 64}, {"ef": 256}]'`).
"""

import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import matplotlib
import numpy as np
import typer
from numpy.typing import NDArray
from tqdm import tqdm

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.report_file import write_report
from indexer.item import CatalogItem, item_id, photo_sha256
from indexer.metadata_store import MetadataStore
from indexer.recall_canary import recall_at_k
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorIndexConfig, VectorStore
from settings import StoreSettings, resolve_settings

CATEGORIES = [f"category-{i}" for i in range(10)]
BRANDS = [f"brand-{i}" for i in range(50)]
COLOURS = ["black", "white", "red", "blue", "green", "grey", "beige", "pink", "brown", "navy"]
BATCH_SIZES = (1, 64, 512)
QUERY_BATCH = 50
BENCH_MODEL = "bench"
SELECTIVE = SearchFilter(category=[CATEGORIES[0]], price_max=150.0, in_stock=True)  # ~4% of the synthetic items

app = typer.Typer(add_completion=False)


def synthetic_catalog(count: int, dim: int, seed: int = 0) -> tuple[list[CatalogItem], NDArray[np.float32]]:
    """count items with random facets and prices, and their random unit vectors (count, dim)."""
    rng = np.random.default_rng(seed)
    crawled = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        CatalogItem(
            id=item_id(f"P{n}", photo_sha256(f"bench-{seed}-{n}".encode())),
            photo_sha256=photo_sha256(f"bench-{seed}-{n}".encode()),
            product_id=f"P{n}",
            title=f"Synthetic product {n}",
            brand=BRANDS[int(rng.integers(len(BRANDS)))],
            category=CATEGORIES[int(rng.integers(len(CATEGORIES)))],
            colour=COLOURS[int(rng.integers(len(COLOURS)))],
            price=float(rng.uniform(5, 300)),
            currency="EUR",
            product_url=f"https://bench.example/p/{n}",
            image_url=f"https://bench.example/i/{n}.jpg",
            source_site="bench.example",
            crawled_at=crawled,
            in_stock=bool(rng.random() < 0.8),
            model_version=BENCH_MODEL,
        )
        for n in range(count)
    ]
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    return items, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def upsert_rate(write: Callable[[Sequence[CatalogItem]], None], items: Sequence[CatalogItem], batch: int) -> float:
    """Items per second when writing items in calls of batch items each."""
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        write(items[start : start + batch])
    return len(items) / (time.perf_counter() - started)


def latency_ms(call: Callable[[], object], repeats: int) -> dict[str, float]:
    """p50 and p99 of call's wall time in milliseconds over repeats runs (after two warm-up calls)."""
    call(), call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def wait_until_settled(search: Callable[[], object], timeout_s: float = 300.0) -> float:
    """Seconds until search latency stops improving: milvus-lite compacts and indexes in the background
    after a flush, and its describe_index always says "Finished", so latency is the only signal."""
    started = time.perf_counter()
    readings: list[float] = []
    while time.perf_counter() - started < timeout_s:
        readings.append(latency_ms(search, 5)["p50_ms"])
        if len(readings) >= 4 and min(readings[-3:]) > 0.85 * min(readings[:-3]):
            break
        time.sleep(5)
    return time.perf_counter() - started


def bench_upserts(settings: StoreSettings, dim: int, items_per_size: int) -> list[dict[str, Any]]:
    """Upsert throughput of each store at each batch size."""
    rows = []
    for batch in BATCH_SIZES:
        rows.append(upsert_rates(settings, dim, batch, count=min(items_per_size, max(batch * 20, 500))))
        logging.info("upsert batch %d: %s", batch, rows[-1])
    return rows


def upsert_rates(settings: StoreSettings, dim: int, batch: int, count: int) -> dict[str, Any]:
    """Items per second into Milvus and into Solr, writing count items in calls of batch items."""
    items, vectors = synthetic_catalog(count, dim, seed=batch)
    row_of = {item.id: n for n, item in enumerate(items)}
    vector_store = VectorStore.connect(settings.milvus_uri, f"{BENCH_MODEL}_upsert_{batch}", dim, batch_size=batch)
    metadata = MetadataStore.connect(settings.solr_core_url, batch_size=batch)

    def write_vectors(chunk: Sequence[CatalogItem]) -> None:
        vector_store.upsert(chunk, vectors[[row_of[item.id] for item in chunk]])

    try:
        milvus = upsert_rate(write_vectors, items, batch)
        solr = upsert_rate(metadata.add, items, batch)
    finally:
        vector_store.drop()
        metadata.solr.delete(q=f"model_version:{BENCH_MODEL}", commit=True)
    return {"batch": batch, "items": count, "milvus_items_per_s": milvus, "solr_items_per_s": solr}


def index_progress(store: VectorStore, timeout_s: float = 1800.0) -> dict[str, Any]:
    """Wait until the server has indexed every row (a real Milvus builds HNSW/IVF per sealed segment in the
    background); the last describe_index answer, with the seconds waited."""
    started = time.perf_counter()
    description: dict[str, Any] = {}
    with tqdm(desc="index build", unit="row", leave=False) as bar:
        while time.perf_counter() - started < timeout_s:
            names = store.client.list_indexes(store.collection)
            description = store.client.describe_index(store.collection, names[0]) if names else {}
            indexed, total = int(description.get("indexed_rows", 0)), int(description.get("total_rows", 0))
            bar.total, bar.n = total, indexed
            bar.refresh()
            # milvus-lite reports no rows at all, and Milvus 2.3 may keep reporting pending rows of compacted
            # segments once every row is indexed: the state and the indexed rows decide
            if description.get("state") == "Finished" and indexed >= total:
                break
            time.sleep(5)
    return {**{k: v for k, v in description.items() if k != "field_name"}, "waited_s": time.perf_counter() - started}


def selective_matches(items: Sequence[CatalogItem]) -> NDArray[np.bool_]:
    """Which items pass SELECTIVE, for exact search over the same items."""
    return np.array([item.category == CATEGORIES[0] and item.price <= 150.0 and item.in_stock for item in items])


def exact_top_ids(
    ids: NDArray[np.str_], vectors: NDArray[np.float32], probes: NDArray[np.float32], k: int, mask: NDArray[np.bool_]
) -> list[set[str]]:
    """The ids of each probe's k most cosine-similar items among those the mask keeps, by brute force in numpy
    (rows are unit vectors)."""
    kept = ids[mask]
    scores = probes @ vectors[mask].T  # (Q, N)
    top = np.argsort(-scores, axis=1)[:, :k]
    return [set(kept[row]) for row in top]


def single_search_latency(
    store: VectorStore, probes: NDArray[np.float32], where: SearchFilter | None
) -> dict[str, float]:
    """p50/p99 of one top-10 search at a time, cycling through the probes."""
    probe = itertools.cycle(probes)
    return latency_ms(lambda: store.search(next(probe), 10, where), len(probes))


def recall_at(store: VectorStore, probes: NDArray[np.float32], exact: list[set[str]], k: int, where: Any) -> float:
    """Mean recall@k of the store's search against the exact top-k, over the probes."""
    found = [[hit.id for hit in store.search(probe, k, where)] for probe in probes]
    return float(np.mean([recall_at_k(got, want) for got, want in zip(found, exact, strict=True)]))


def bench_searches(
    settings: StoreSettings, size: int, dim: int, queries: int, index: VectorIndexConfig, sweep: list[dict[str, Any]]
) -> dict[str, Any]:
    """Filtered and plain top-10 latency and recall@10 (against exact search) at one collection size, once per
    search-parameter setting of the sweep; single queries, and QUERY_BATCH queries per call."""
    items, vectors = synthetic_catalog(size, dim, seed=size)
    store = VectorStore.connect(
        settings.milvus_uri, f"{BENCH_MODEL}_search_{size}", dim, timeout_s=120, index=index, batch_size=512
    )
    try:
        started = time.perf_counter()
        for start in tqdm(range(0, size, 512), desc=f"load {size}", unit="batch", leave=False):
            store.upsert(items[start : start + 512], vectors[start : start + 512])
        load_s = time.perf_counter() - started
        probes = np.random.default_rng(1).normal(size=(queries + QUERY_BATCH, dim)).astype(np.float32)
        probes /= np.linalg.norm(probes, axis=1, keepdims=True)
        unflushed = latency_ms(lambda: store.search(probes[0], 10), 10)
        started = time.perf_counter()
        store.flush()
        flush_s = time.perf_counter() - started
        indexed = index_progress(store)
        settle_s = wait_until_settled(lambda: store.search(probes[0], 10))
        ids = np.array([item.id for item in items])
        recall_probes = probes[: min(queries, 100)]
        exact_plain = exact_top_ids(ids, vectors, recall_probes, 10, np.ones(size, dtype=bool))
        exact_filtered = exact_top_ids(ids, vectors, recall_probes, 10, selective_matches(items))
        settings_rows = []
        for params in sweep:
            store.index = replace(index, search_params=params)
            settings_rows.append(
                {
                    "search_params": params,
                    "single_filtered": single_search_latency(store, probes[:queries], SELECTIVE),
                    "single_unfiltered": single_search_latency(store, probes[:queries], None),
                    "recall_at_10_filtered": recall_at(store, recall_probes, exact_filtered, 10, SELECTIVE),
                    "recall_at_10_unfiltered": recall_at(store, recall_probes, exact_plain, 10, None),
                }
            )
            logging.warning("%d items, %s: %s", size, params, settings_rows[-1])
        batched = latency_ms(lambda: store.search_batch(probes[:QUERY_BATCH], 10, SELECTIVE), max(queries // 10, 20))
    finally:
        store.drop()
    return {
        "items": size,
        "index_type": index.index_type,
        "build_params": index.build_params,
        "load_items_per_s": size / load_s,
        "flush_s": flush_s,
        "index_build": indexed,
        "settle_after_flush_s": settle_s,
        "single_unfiltered_before_flush": unflushed,
        **{key: settings_rows[0][key] for key in ("single_filtered", "single_unfiltered")},
        "by_search_params": settings_rows,
        f"batched_filtered_{QUERY_BATCH}_per_call": batched,
        "batched_filtered_per_query_p50_ms": batched["p50_ms"] / QUERY_BATCH,
    }


def draw_sweep(report: dict[str, Any], path: Path) -> None:
    """p99 latency against recall@10 for each search-parameter setting of each size (plain and filtered)."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for search in report["searches"]:
        rows = search["by_search_params"]
        for kind, marker in (("unfiltered", "o"), ("filtered", "s")):
            recalls = [row[f"recall_at_10_{kind}"] for row in rows]
            p99s = [row[f"single_{kind}"]["p99_ms"] for row in rows]
            axis.plot(recalls, p99s, marker=marker, label=f"{search['items']:,} items, {kind}")
            for row, recall, p99 in zip(rows, recalls, p99s, strict=True):
                axis.annotate(json.dumps(row["search_params"]), (recall, p99), fontsize=7)
    axis.axhline(50, color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel("recall@10 against exact search")
    axis.set_ylabel("one search at a time, p99 ms")
    axis.set_title(f"{report['searches'][0]['index_type']} on {report['milvus_uri']}")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


@app.command()
def main(
    sizes: Annotated[str, typer.Option(help="Collection sizes for the search benchmark")] = "10000,100000",
    dim: Annotated[int, typer.Option(help="Vector dimension")] = 128,
    queries: Annotated[int, typer.Option(help="Timed single queries per size")] = 300,
    items_per_size: Annotated[int, typer.Option(help="Most items per upsert batch-size run")] = 10240,
    out: Annotated[Path, typer.Option(help="JSON report")] = Path("reports/bench_stores.json"),
    upserts: Annotated[bool, typer.Option(help="Also measure upsert throughput (needs Solr)")] = True,
    index_type: Annotated[str, typer.Option(help="Milvus index of the searched collections: FLAT, HNSW")] = "FLAT",
    build_params: Annotated[str, typer.Option(help="Index build parameters as JSON, e.g. '{\"M\": 16}'")] = "{}",
    search_params: Annotated[
        str, typer.Option(help='JSON list of search parameter settings to sweep, e.g. \'[{"ef": 64}, {"ef": 128}]\'')
    ] = "[{}]",
) -> None:
    """Run the benchmark against the running stack and write the report."""
    logging.basicConfig(level=logging.WARNING)
    settings = resolve_settings().stores
    index = VectorIndexConfig(index_type=index_type, build_params=json.loads(build_params))
    sweep = json.loads(search_params)
    report: dict[str, Any] = {
        "command": "python -m bench.stores " + " ".join(sys.argv[1:]),
        "cpu_count": os.cpu_count(),
        "milvus_uri": settings.milvus_uri,
        "dim": dim,
        "upserts": bench_upserts(settings, dim, items_per_size) if upserts else [],
        "searches": [bench_searches(settings, int(size), dim, queries, index, sweep) for size in sizes.split(",")],
    }
    report["load_average_at_end"] = os.getloadavg()
    write_report(out, report)
    draw_sweep(report, out.with_suffix(".png"))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    app()
