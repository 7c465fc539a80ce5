"""The live recall canary: exact search by scanning the collection, and recall of the index measured against it
(exact for FLAT, and it sees an index that misses neighbours)."""

import numpy as np
import pytest

from indexer.recall_canary import RecallCanary, exact_top_k, recall_at_k, similarities
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorStore
from tests.indexer.conftest import DIM, ItemFactory, unit_vectors

ITEMS = 1500
CATEGORIES = ("shirt", "dress", "shoe")


def test_recall_is_the_share_of_the_exact_neighbours_found() -> None:
    assert recall_at_k(["a", "b", "x"], ["a", "b", "c"]) == pytest.approx(2 / 3)
    assert recall_at_k(["b", "a"], ["a", "b"]) == 1.0
    assert recall_at_k([], []) == 1.0  # nothing passes the filter: nothing to miss


def test_similarities_rank_as_the_metric_does() -> None:
    queries = np.array([[1.0, 0.0]], dtype=np.float32)
    vectors = np.array([[3.0, 0.1], [0.5, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert list(np.argsort(-similarities(queries, vectors, "COSINE")[0])) == [1, 0, 2]  # direction only
    assert list(np.argsort(-similarities(queries, vectors, "IP")[0])) == [0, 1, 2]
    assert list(np.argsort(-similarities(queries, vectors, "L2")[0])) == [1, 2, 0]  # nearest point first


def fill(store: VectorStore, make_item: ItemFactory) -> tuple[list[str], list[str], np.ndarray]:
    """ITEMS random unit vectors in the store, flushed; their ids, categories and vectors."""
    items = [make_item(n, category=CATEGORIES[n % 3]) for n in range(ITEMS)]
    vectors = unit_vectors(ITEMS, seed=7)
    store.upsert(items, vectors)
    store.flush()
    return [item.id for item in items], [item.category for item in items], vectors


def numpy_top_k(queries: np.ndarray, vectors: np.ndarray, ids: list[str], k: int) -> list[list[str]]:
    order = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    return [[ids[i] for i in row] for row in order]


@pytest.mark.integration
def test_exact_search_scans_every_vector_that_passes_the_filter(
    vector_store: VectorStore, make_item: ItemFactory
) -> None:
    ids, categories, vectors = fill(vector_store, make_item)
    queries = unit_vectors(5, seed=99)
    assert exact_top_k(vector_store, queries, 10) == numpy_top_k(queries, vectors, ids, 10)
    assert exact_top_k(vector_store, queries, 10, batch_size=128) == numpy_top_k(queries, vectors, ids, 10)
    dresses = [i for i, category in enumerate(categories) if category == "dress"]
    expected = numpy_top_k(queries, vectors[dresses], [ids[i] for i in dresses], 10)
    assert exact_top_k(vector_store, queries, 10, SearchFilter(category=["dress"])) == expected


class MissesTheNearest(VectorStore):
    """An index that loses each query's nearest item: what a mis-tuned ANN index does to some queries.
    (milvus-lite 2.5.1 answers IVF_FLAT with nprobe=1 of nlist=64 exactly, even at 20k vectors, so a real
    mis-tuned index cannot be built on the local store.)"""

    def search_batch(self, vectors, k=10, search_filter=None):  # type: ignore[no-untyped-def]
        return [hits[1:] for hits in super().search_batch(vectors, k + 1, search_filter)]


@pytest.mark.integration
@pytest.mark.parametrize(("store_class", "expected"), [(VectorStore, 1.0), (MissesTheNearest, 0.9)])
def test_the_canary_measures_the_recall_of_the_index(
    milvus_uri: str, model_version: str, collection_prefix: str, make_item: ItemFactory,
    store_class: type[VectorStore], expected: float,
) -> None:  # fmt: skip
    """FLAT is exact search: recall 1; an index that misses one of the 10 nearest: recall 0.9 on every query."""
    store = store_class.connect(milvus_uri, model_version, DIM, collection_prefix=collection_prefix)
    try:
        fill(store, make_item)
        canary = RecallCanary(lambda: store, sample_rate=1.0, interval_s=60, on_round=lambda recalls: None)
        for query in unit_vectors(20, seed=5):
            canary.offer(query, SearchFilter(category=["dress", "shoe"]) if query[0] > 0 else None)
        recalls = canary.check()
        assert recalls == pytest.approx([expected] * 20)
        assert canary.check() == []  # the samples are used once
    finally:
        store.drop()


def test_the_canary_keeps_about_its_sample_rate_of_the_searches() -> None:
    canary = RecallCanary(lambda: pytest.fail("no store needed"), sample_rate=0.1, interval_s=60,
                          on_round=lambda recalls: None, max_queries=1000, seed=1)  # fmt: skip
    for _ in range(2000):
        canary.offer(np.ones(DIM, dtype=np.float32), None)
    assert 150 < len(canary._pending) < 250
