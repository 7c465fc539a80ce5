"""A live check of the vector index's recall: a sample of real queries re-run exactly, in the background.

An approximate index (HNSW, IVF) trades recall for speed, and a mis-tuned one (ef or nprobe too low for the data
it holds now) quietly returns worse neighbours while every latency figure looks fine. The canary keeps a few of the
query vectors that real searches used. Every interval it searches them again through the index and ranks them
exactly against every stored vector that passes the same filter (one scan of the collection per filter, shared by
all sampled queries with that filter), and reports recall@k of the first against the second. The work runs in a
thread of its own, off the request path; its cost is bounded by the sample size and the interval.
"""

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from indexer.errors import IndexerError
from indexer.search_filter import SearchFilter
from indexer.vector_store import VECTOR_FIELD, VectorStore, milvus_expression

logger = logging.getLogger(__name__)

RECALL_K = 10
# Small pages keep each scan call short, so searches wait little behind it: over 100k 128-d vectors in milvus-lite
# 2.5.1, pages of 4096 took 1.25 s a call (30 s a scan, and a 74 ms search p99 at one client), pages of 256 take
# 10 ms a call (3.8 s a scan).
SCAN_BATCH = 256


@dataclass(frozen=True)
class CanaryQuery:
    """One sampled search: its query vector (D,) and its filter."""

    vector: NDArray[np.float32]
    search_filter: SearchFilter | None


def similarities(queries: NDArray[np.float32], vectors: NDArray[np.float32], metric: str) -> NDArray[np.float32]:
    """(Q, N) similarities of each query to each vector, higher is closer, as the collection's metric ranks them."""
    if metric == "COSINE":
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if metric == "L2":
        squared = (queries**2).sum(axis=1)[:, None] - 2 * queries @ vectors.T + (vectors**2).sum(axis=1)[None, :]
        return -squared
    return queries @ vectors.T


def exact_top_k(
    store: VectorStore,
    queries: NDArray[np.float32],
    k: int,
    search_filter: SearchFilter | None = None,
    batch_size: int = SCAN_BATCH,
) -> list[list[str]]:
    """The ids of each query's k closest stored items (queries (Q, D)) among those passing the filter, closest
    first, by scanning every stored vector once, batch_size at a time: exact, whatever the index."""
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    best_ids = np.empty((len(queries), 0), dtype=object)
    for rows in store.scan([VECTOR_FIELD], batch_size, search_filter):
        ids = np.array([row["id"] for row in rows], dtype=object)
        vectors = np.array([row[VECTOR_FIELD] for row in rows], dtype=np.float32)
        scores = np.concatenate([best_scores, similarities(queries, vectors, store.index.metric_type)], axis=1)
        candidates = np.concatenate([best_ids, np.broadcast_to(ids, (len(queries), len(ids)))], axis=1)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(scores, order, axis=1)
        best_ids = np.take_along_axis(candidates, order, axis=1)
    return [[str(item_id) for item_id in row] for row in best_ids]


def recall_at_k(found: Collection[str], exact: Collection[str]) -> float:
    """The share of the exact neighbours that the index found (1.0 when nothing passes the filter)."""
    if not exact:
        return 1.0
    return len(set(found) & set(exact)) / len(exact)


class RecallCanary:
    """Samples searches as they happen (`offer`) and measures the index's recall@k on them (`check`), every
    interval_s in a background thread once started; each round's recalls go to on_round."""

    def __init__(
        self,
        store: Callable[[], VectorStore],
        sample_rate: float,
        interval_s: float,
        on_round: Callable[[list[float]], None],
        max_queries: int = 32,
        k: int = RECALL_K,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.sample_rate = sample_rate
        self.interval_s = interval_s
        self.on_round = on_round
        self.k = k
        self._pending: deque[CanaryQuery] = deque(maxlen=max_queries)  # the latest samples, at most max_queries
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, vector: NDArray[np.float32], search_filter: SearchFilter | None) -> None:
        """Keep this search for the next round with probability sample_rate (cheap: a coin and a copy)."""
        if self.sample_rate > 0 and self._random.random() < self.sample_rate:
            with self._lock:
                self._pending.append(CanaryQuery(np.array(vector, dtype=np.float32), search_filter))

    def check(self) -> list[float]:
        """Re-run the pending samples through the index and exactly; their recall@k (the samples are used up)."""
        with self._lock:
            queries = list(self._pending)
            self._pending.clear()
        by_filter: dict[str, list[CanaryQuery]] = {}
        for query in queries:
            by_filter.setdefault(milvus_expression(query.search_filter), []).append(query)
        store = self.store()
        recalls: list[float] = []
        for group in by_filter.values():
            vectors = np.stack([query.vector for query in group])
            search_filter = group[0].search_filter
            found = store.search_batch(vectors, self.k, search_filter)
            exact = exact_top_k(store, vectors, self.k, search_filter)
            recalls += [recall_at_k([hit.id for hit in hits], ids) for hits, ids in zip(found, exact, strict=True)]
        return recalls

    def start(self) -> None:
        """Check every interval_s in a daemon thread until close(); nothing to do when sampling is off."""
        if self.sample_rate > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recall-canary", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            started = time.perf_counter()
            try:
                recalls = self.check()
            except IndexerError as error:  # the store is down: the next round tries again
                logger.warning("recall canary skipped a round: %s", error)
                continue
            if recalls:
                self.on_round(recalls)
                logger.info("recall canary: recall@%d %.3f over %d queries in %.2f s", self.k,
                            sum(recalls) / len(recalls), len(recalls), time.perf_counter() - started)  # fmt: skip
