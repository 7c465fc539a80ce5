"""From a query image to Milvus hits, shared between concurrent requests.

Decoding and embedding (CPU-bound torch) run in a pool of `embed_workers` threads, so at most that many images are
in the model at once and the event loop stays responsive; concurrent images share one forward pass, and concurrent
searches of the same limit and filter share one Milvus call (api/batching.py); a sample of the searches is
re-run exactly in the background by the recall canary (indexer/recall_canary.py). image_url fetches run in a pool of
their own (`fetch_workers`), so slow image servers cannot starve anything else. Both pools queue a bounded number
of calls and shed the rest with 503 + Retry-After (api/load_shedding.py).
"""

import time
from functools import partial

import numpy as np
from numpy.typing import NDArray

from api.batching import MicroBatcher
from api.load_shedding import BoundedPool
from api.metrics import ApiMetrics
from api.store_clients import CollectionKey, StoreClients
from api.timings import Timings
from embedder import Embedder
from embedder.rerank import grey_thumbnail
from indexer.recall_canary import RecallCanary
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorHit, milvus_expression
from ingest.fetch import FetchPolicy, fetch_client, fetch_image
from settings import Settings

MAX_SEARCH_BATCHERS = 256  # one micro-batcher per (limit, filter) searched lately


class QueryPath:
    """The embedding and fetch pools, the forward-pass batcher and the Milvus search batchers."""

    def __init__(self, settings: Settings, stores: StoreClients, metrics: ApiMetrics) -> None:
        api = settings.api
        self.stores = stores
        self.metrics = metrics
        self.api = api
        self.embed_pool = BoundedPool("embed", api.embed_workers, api.embed_queue, api.retry_after_s,
                                      metrics.shed.labels("embed"))  # fmt: skip
        self.fetch_pool = BoundedPool("fetch", api.fetch_workers, api.fetch_queue, api.retry_after_s,
                                      metrics.shed.labels("fetch"))  # fmt: skip
        self.forward: MicroBatcher[tuple[Embedder, NDArray[np.uint8]], NDArray[np.float32]] = MicroBatcher(
            self._forward_pass,
            self.embed_pool.executor,
            max_batch=api.embed_max_batch,
            max_wait_s=api.embed_max_wait_ms / 1000,
            max_in_flight=api.embed_workers,
        )  # fmt: skip  (decoding is admitted through embed_pool, which sheds when full)
        self.searches: dict[tuple[CollectionKey, int, str], MicroBatcher[NDArray[np.float32], list[VectorHit]]] = {}
        self.canary = RecallCanary(stores.vectors, api.recall_canary_rate, api.recall_canary_interval_s,
                                   on_round=metrics.observe_recall)  # fmt: skip
        self.http = fetch_client("cbir-fashion-api", max_connections=api.fetch_workers)
        self.fetch_policy = FetchPolicy.of(settings.fetch)

    @staticmethod
    def warm_up(embedder: Embedder) -> None:
        """One forward pass, so that the first query does not pay torch's start-up."""
        config = embedder.config
        shape = (config.channels, config.image_height, config.image_width)
        embedder.embed_pixels(np.zeros((1, *shape), dtype=np.uint8))

    def close(self) -> None:
        self.canary.close()
        self.embed_pool.shutdown()
        self.fetch_pool.shutdown()
        self.http.close()

    @staticmethod
    def _forward_pass(images: list[tuple[Embedder, NDArray[np.uint8]]]) -> list[NDArray[np.float32]]:
        """Forward passes over decoded query images (each (C, H, W) uint8), one per model among them (a promotion
        switches models between two requests): one (D,) unit vector each, in order."""
        vectors: list[NDArray[np.float32] | None] = [None] * len(images)
        for embedder in {id(embedder): embedder for embedder, _ in images}.values():
            positions = [i for i, (other, _) in enumerate(images) if other is embedder]
            embedded = embedder.embed_pixels(np.stack([images[i][1] for i in positions]))
            for position, vector in zip(positions, embedded, strict=True):
                vectors[position] = vector
        return [vector for vector in vectors if vector is not None]

    async def embed(self, image: bytes, embedder: Embedder, timings: Timings) -> NDArray[np.float32]:
        """Decode and resize one query image in the embedding pool, then embed it in a micro-batch: (D,)."""

        def decode() -> tuple[NDArray[np.uint8], float]:
            started = time.perf_counter()
            pixels = embedder.pixels([image])[0]  # (C, H, W) uint8: decoded at reduced scale, resized once
            return pixels, time.perf_counter() - started

        pixels, decode_s = await self.embed_pool.run(decode)
        timings.add("decode", decode_s)
        started = time.perf_counter()
        vector = await self.forward.submit((embedder, pixels))  # (D,); shares a forward pass with concurrent queries
        timings.add("embed", time.perf_counter() - started)
        return vector

    async def thumbnail(self, image: bytes, timings: Timings) -> NDArray[np.float32]:
        """The query image's grey thumbnail for the re-ranker (in the embedding pool); (H, W)."""
        started = time.perf_counter()
        thumbnail = await self.embed_pool.run(grey_thumbnail, image)
        timings.add("thumbnail", time.perf_counter() - started)
        return thumbnail

    async def search_vectors(
        self, vector: NDArray[np.float32], collection: CollectionKey, limit: int, search_filter: SearchFilter | None,
        timings: Timings,
    ) -> list[VectorHit]:  # fmt: skip
        """The Milvus ranking of one query vector in its model's collection, searched in one call with concurrent
        queries of the same collection, limit and filter (a batch of 16 costs ~10 single searches in milvus-lite)."""
        key = (collection, limit, milvus_expression(search_filter))
        batcher = self.searches.get(key)
        if batcher is None:
            if len(self.searches) >= MAX_SEARCH_BATCHERS:  # forget the oldest; its running batches still finish
                del self.searches[next(iter(self.searches))]
            batcher = self.searches[key] = MicroBatcher(
                partial(self._search_batch, collection, limit, search_filter), max_batch=self.api.search_max_batch,
                max_wait_s=self.api.search_max_wait_ms / 1000, max_in_flight=self.api.search_max_in_flight,
            )  # fmt: skip
        started = time.perf_counter()
        try:
            hits = await batcher.submit(vector)
        finally:
            timings.add("milvus-search", time.perf_counter() - started)
        if collection == self.stores.serving:  # a few searches are re-run exactly, to measure recall
            self.canary.offer(vector, search_filter)
        return hits

    def _search_batch(
        self, collection: CollectionKey, limit: int, search_filter: SearchFilter | None,
        vectors: list[NDArray[np.float32]],
    ) -> list[list[VectorHit]]:  # fmt: skip
        """One Milvus search call for several query vectors with the same collection, limit and filter."""
        with self.metrics.store_call("milvus", "search"):
            return self.stores.vectors(collection).search_batch(np.stack(vectors), limit, search_filter)

    async def fetch(self, url: str, timings: Timings) -> bytes:
        """The bytes of a query image given by URL (SSRF-safe, size capped, total deadline, own bounded pool)."""
        started = time.perf_counter()
        try:
            return await self.fetch_pool.run(fetch_image, url, self.fetch_policy, self.http)
        finally:
            timings.add("fetch", time.perf_counter() - started)
