"""The store bench's helpers against the real Milvus of the test stack: waiting for the index, exact search and
recall."""

import uuid

import numpy as np

from bench.stores import SELECTIVE, exact_top_ids, index_progress, recall_at, selective_matches, synthetic_catalog
from indexer.vector_store import VectorStore


def test_the_bench_waits_for_the_index_then_measures_recall_against_exact_search(milvus_uri: str) -> None:
    items, vectors = synthetic_catalog(600, 16, seed=3)
    store = VectorStore.connect(milvus_uri, "bench", 16, collection_prefix=f"benchtest_{uuid.uuid4().hex[:8]}")
    try:
        store.upsert(items, vectors)
        store.flush()
        # milvus-lite answers describe_index with no row counts: the wait must end at once, not at its timeout
        assert index_progress(store, timeout_s=60)["waited_s"] < 30
        probes = vectors[:5] + 0.01
        ids = np.array([item.id for item in items])
        plain = exact_top_ids(ids, vectors, probes, 10, np.ones(len(items), dtype=bool))
        assert all(item.id in top for item, top in zip(items[:5], plain, strict=True))  # each its own nearest
        filtered = exact_top_ids(ids, vectors, probes, 10, selective_matches(items))
        kept = {item.id for item in items if item.category == "category-0" and item.price <= 150 and item.in_stock}
        assert set().union(*filtered) <= kept
        assert recall_at(store, probes, plain, 10, None) == 1.0  # FLAT is exact
        assert recall_at(store, probes, filtered, 10, SELECTIVE) == 1.0
    finally:
        store.drop()
