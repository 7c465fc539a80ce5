"""The API's Milvus collections and Solr core: connected once, on first use, and every call timed for the metrics.

Blocking store calls (pymilvus, pysolr) run in the event loop's default thread pool, each bounded by the store
timeout; the clients are thread-safe, so all requests share them.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from api.metrics import ApiMetrics
from api.timings import Timings
from indexer.metadata_store import MetadataStore
from indexer.vector_store import VectorIndexConfig, VectorStore
from settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class CollectionKey:
    """The Milvus collection a query vector is searched in: its model's version and dimension."""

    version: str
    dim: int


class StoreClients:
    """The collections of the served model versions and the catalog core; a store that is down is connected on
    the next use. `serving` is the collection searches use now (a promotion changes it)."""

    def __init__(self, settings: Settings, serving: CollectionKey, metrics: ApiMetrics) -> None:
        self.settings = settings
        self.serving = serving
        self.metrics = metrics
        self._vectors_lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        self._vectors: dict[CollectionKey, VectorStore] = {}
        self._metadata: MetadataStore | None = None

    def vectors(self, key: CollectionKey | None = None) -> VectorStore:
        """The Milvus collection of a model (the serving one by default), connected on first use."""
        key = key or self.serving
        with self._vectors_lock:
            if key not in self._vectors:
                indexer = self.settings.indexer
                index = VectorIndexConfig(metric_type=indexer.metric_type, search_params=indexer.index_search_params)
                with self.metrics.store_call("milvus", "connect"):
                    self._vectors[key] = VectorStore.from_settings(self.settings.stores, key.version, key.dim,
                                                                   index=index)  # fmt: skip
            return self._vectors[key]

    def metadata(self) -> MetadataStore:
        """The Solr catalog core, connected (pinged) on first use."""
        with self._metadata_lock:
            if self._metadata is None:
                with self.metrics.store_call("solr", "connect"):
                    stores = self.settings.stores
                    self._metadata = MetadataStore.connect(
                        stores.solr_core_url, timeout_s=stores.timeout_s, auth=stores.solr_auth()
                    )
            return self._metadata

    async def call(self, store: str, operation: str, call: Callable[[], T], timings: Timings | None = None) -> T:
        """Run a blocking store call in the thread pool, timed for the metrics (and the request's timings)."""

        def timed() -> T:
            started = time.perf_counter()
            try:
                with self.metrics.store_call(store, operation):
                    return call()
            finally:
                if timings is not None:
                    timings.add(f"{store}-{operation}", time.perf_counter() - started)

        return await run_in_threadpool(timed)
