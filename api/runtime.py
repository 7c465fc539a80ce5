"""What the app opens once at start-up and shares between requests: the model, its threads, the store clients.

Concurrency model: one event loop (uvicorn) accepts and parses requests; decoding and embedding (CPU-bound
torch) run in a pool of `embed_workers` threads, so at most that many images are in the model at once and the
loop stays responsive; image_url fetches run in a pool of their own (`fetch_workers`), so slow image servers
cannot starve anything else; both pools queue a bounded number of calls and shed the rest with 503 +
Retry-After (api/load_shedding.py). Blocking store calls (pymilvus, pysolr, kafka-python) run in the loop's
default thread pool, each bounded by the store timeout. The clients are thread-safe and are built once, on
first use, then reused.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
from kafka.producer.future import RecordMetadata
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from api.batching import MicroBatcher
from api.errors import ProductNotFound, StatusUnavailable
from api.load_shedding import BoundedPool
from api.metrics import ApiMetrics
from embedder import CheckpointError, Embedder
from embedder.data.image_folder import folder_photos
from embedder.text_encoder import TextEmbedder
from indexer.errors import IndexerError
from indexer.item import CatalogItem, photo_sha256
from indexer.metadata_store import MetadataStore
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorHit, VectorIndexConfig, VectorStore, milvus_expression
from ingest.fetch import FetchPolicy, fetch_client, fetch_image
from ingest.message import UpsertMessage
from ingest.publisher import CatalogPublisher
from ingest.status import ProductStatus
from ingest.status_reader import StatusReader
from ingest.topics import MAX_MESSAGE_BYTES
from settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_SEARCH_BATCHERS = 256  # one micro-batcher per (limit, filter) searched lately
MAX_PRODUCT_PHOTOS = 100  # photos listed in a product's status


@dataclass
class Timings:
    """Milliseconds spent in each stage of one request, in order (for Server-Timing and the metrics)."""

    stages: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds * 1000

    def server_timing(self) -> str:
        """The value of a `Server-Timing` header."""
        return ", ".join(f"{stage};dur={ms:.2f}" for stage, ms in self.stages.items())


def photo_index(folder: Path) -> dict[str, Path]:
    """photo_sha256 of the bytes -> path, for every photo under folder."""
    return {photo_sha256(path.read_bytes()): path for path in folder_photos(folder)}


class Runtime:
    """The embedder, its work pools, and lazily connected store clients (reconnected after a failure)."""

    def __init__(
        self, settings: Settings, embedder: Embedder, metrics: ApiMetrics, text_encoder: TextEmbedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.text_encoder = text_encoder
        self.metrics = metrics
        self.model_version = settings.api.collection_version or embedder.version
        retry_after = settings.api.retry_after_s
        self.embed_pool = BoundedPool(
            "embed", settings.api.embed_workers, settings.api.embed_queue, retry_after, metrics.shed.labels("embed")
        )
        self.fetch_pool = BoundedPool(
            "fetch", settings.api.fetch_workers, settings.api.fetch_queue, retry_after, metrics.shed.labels("fetch")
        )
        self.forward: MicroBatcher[NDArray[np.uint8], NDArray[np.float32]] = MicroBatcher(
            self._forward_pass,
            self.embed_pool.executor,
            max_batch=settings.api.embed_max_batch,
            max_wait_s=settings.api.embed_max_wait_ms / 1000,
            max_in_flight=settings.api.embed_workers,
        )  # fmt: skip  (decoding is admitted through embed_pool, which sheds when full)
        self.http = fetch_client("cbir-fashion-api", max_connections=settings.api.fetch_workers)
        self.fetch_policy = FetchPolicy.of(settings.fetch)
        self._vectors_lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        self._vectors: VectorStore | None = None
        self._metadata: MetadataStore | None = None
        self._publisher: CatalogPublisher | None = None
        self._publish_lock = threading.Lock()
        self.statuses = StatusReader(settings.stores, settings.stores.status_topic,
                                     timeout_s=settings.stores.timeout_s)  # fmt: skip
        self._photos: dict[str, Path] | None = None
        self._photos_lock = threading.Lock()
        self._searches: dict[tuple[int, str], MicroBatcher[NDArray[np.float32], list[VectorHit]]] = {}

    @classmethod
    def open(cls, settings: Settings, metrics: ApiMetrics) -> "Runtime":
        """Load the model (once) and try the stores; a store that is down now is connected on first use."""
        embedder = Embedder.load(
            settings.embedding.model_path,
            batch_size=settings.api.embed_max_batch,
            threads=settings.embedding.torch_threads,
            device=settings.embedding.device,
        )
        text_encoder = (
            TextEmbedder.load(settings.embedding.text_encoder_path) if settings.embedding.text_encoder_path else None
        )
        if text_encoder is not None and text_encoder.image_model != embedder.version:
            raise CheckpointError(
                f"the text encoder maps into image model {text_encoder.image_model}, not {embedder.version}"
            )
        runtime = cls(settings, embedder, metrics, text_encoder)
        runtime.embedder.embed_pixels(np.zeros((1, *runtime.pixel_shape()), dtype=np.uint8))  # warm up torch
        for connect in (runtime.vectors, runtime.metadata):
            try:
                connect()
            except IndexerError as error:  # start anyway: /readyz and 503s report it, first use reconnects
                logger.warning("store not reachable at start-up: %s", error)
        runtime.statuses.start()  # reads the status topic in the background; Kafka may be down now
        if settings.api.photo_dir is not None:  # hash the photo folder in the background, not on the first request
            threading.Thread(target=runtime.photo_path, args=("",), daemon=True, name="photo-index").start()
        return runtime

    def pixel_shape(self) -> tuple[int, int, int]:
        config = self.embedder.config
        return (config.channels, config.image_height, config.image_width)

    def close(self) -> None:
        self.embed_pool.shutdown()
        self.fetch_pool.shutdown()
        self.http.close()
        self.statuses.close()
        if self._publisher is not None:
            self._publisher.close(timeout_s=2.0)

    # --- stores -------------------------------------------------------------------------------------------

    def vectors(self) -> VectorStore:
        """The Milvus collection of the model version, connected on first use."""
        with self._vectors_lock:
            if self._vectors is None:
                settings = self.settings
                index = VectorIndexConfig(
                    metric_type=settings.indexer.metric_type, search_params=settings.indexer.index_search_params
                )
                with self.metrics.store_call("milvus", "connect"):
                    self._vectors = VectorStore.from_settings(
                        settings.stores, self.model_version, self.embedder.dim, index=index
                    )
            return self._vectors

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

    async def call_store(self, store: str, operation: str, call: Callable[[], T], timings: Timings | None = None) -> T:
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

    # --- query images ------------------------------------------------------------------------------------

    def _forward_pass(self, images: list[NDArray[np.uint8]]) -> list[NDArray[np.float32]]:
        """One forward pass over decoded query images (each (C, H, W) uint8): one (D,) unit vector each."""
        return list(self.embedder.embed_pixels(np.stack(images)))

    async def embed(self, image: bytes, timings: Timings) -> NDArray[np.float32]:
        """Decode and resize one query image in the embedding pool, then embed it in a micro-batch: (D,)."""

        def decode() -> tuple[NDArray[np.uint8], float]:
            started = time.perf_counter()
            pixels = self.embedder.pixels([image])[0]  # (C, H, W) uint8: decoded at reduced scale, resized once
            return pixels, time.perf_counter() - started

        pixels, decode_s = await self.embed_pool.run(decode)
        timings.add("decode", decode_s)
        started = time.perf_counter()
        vector = await self.forward.submit(pixels)  # (D,); shares a forward pass with concurrent queries
        timings.add("embed", time.perf_counter() - started)
        return vector

    async def search_vectors(
        self, vector: NDArray[np.float32], limit: int, search_filter: SearchFilter | None, timings: Timings
    ) -> list[VectorHit]:
        """The Milvus ranking of one query vector, searched in one call with concurrent queries of the same
        limit and filter (a batch of 16 costs ~10 single searches in milvus-lite 2.5)."""
        key, api = (limit, milvus_expression(search_filter)), self.settings.api
        batcher = self._searches.get(key)
        if batcher is None:
            if len(self._searches) >= MAX_SEARCH_BATCHERS:  # forget the oldest; its running batches still finish
                del self._searches[next(iter(self._searches))]
            batcher = self._searches[key] = MicroBatcher(
                partial(self._search_batch, limit, search_filter), max_batch=api.search_max_batch,
                max_wait_s=api.search_max_wait_ms / 1000, max_in_flight=api.search_max_in_flight,
            )  # fmt: skip
        started = time.perf_counter()
        try:
            return await batcher.submit(vector)
        finally:
            timings.add("milvus-search", time.perf_counter() - started)

    def _search_batch(
        self, limit: int, search_filter: SearchFilter | None, vectors: list[NDArray[np.float32]]
    ) -> list[list[VectorHit]]:
        """One Milvus search call for several query vectors with the same limit and filter."""
        with self.metrics.store_call("milvus", "search"):
            return self.vectors().search_batch(np.stack(vectors), limit, search_filter)

    async def fetch(self, url: str, timings: Timings) -> bytes:
        """The bytes of a query image given by URL (SSRF-safe, size capped, total deadline, own bounded pool)."""
        started = time.perf_counter()
        try:
            return await self.fetch_pool.run(fetch_image, url, self.fetch_policy, self.http)
        finally:
            timings.add("fetch", time.perf_counter() - started)

    # --- publishing --------------------------------------------------------------------------------------

    def publish(self, message: UpsertMessage) -> RecordMetadata:
        """Record the product as `queued`, then publish the message, each once Kafka confirms the one before
        (serialised: publishing is a low-rate path). The status precedes whatever the topology records about the
        message, so the latest status of the product is the topology's once it has processed it.

        After a failure the producer is replaced: kafka-python's idempotent producer stays broken after some broker
        errors, and its pending messages must not be reported to the next client.
        """
        with self._publish_lock:
            publisher = self._publisher or self._open_publisher()
            self._publisher = publisher
            try:
                with self.metrics.store_call("kafka", "publish"):
                    queued = ProductStatus.queued(message.product_id)
                    recorded = publisher.record_status(self.settings.stores.status_topic, queued,
                                                       timeout_s=self.settings.stores.timeout_s)  # fmt: skip
                    self.statuses.table.apply(recorded.offset, queued)  # answer at once, before the reader sees it
                    future = publisher.publish(message)
                    publisher.flush(timeout_s=self.settings.stores.timeout_s)
                return future.get(timeout=0)
            except Exception:
                self._publisher = None
                publisher.close(timeout_s=0)
                raise

    def _open_publisher(self) -> CatalogPublisher:
        """A producer that fails within the store timeout when the broker is down, not after a 30-60 s hang."""
        with self.metrics.store_call("kafka", "connect"):
            timeout_ms = int(self.settings.stores.timeout_s * 1000)
            return CatalogPublisher(
                self.settings.stores, topic=self.settings.stores.topic, linger_ms=0,
                max_request_size=MAX_MESSAGE_BYTES,
                request_timeout_ms=timeout_ms, max_block_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms,
            )  # fmt: skip

    # --- product statuses --------------------------------------------------------------------------------

    def product_status(self, product_id: str) -> ProductStatus:
        """The latest status of a product; StatusUnavailable until the status topic is read, ProductNotFound."""
        if not self.statuses.caught_up():
            raise StatusUnavailable(f"product statuses are not read yet ({self.statuses.problem})", retry_after_s=5)
        status = self.statuses.get(product_id)
        if status is None:
            raise ProductNotFound(f"no status of product {product_id}: not published through this API, or not "
                                  "processed yet")  # fmt: skip
        return status

    def product_photos(self, status: ProductStatus, model_version: str) -> list[CatalogItem]:
        """The product's searchable photos of model_version, and the photos its latest message wrote (they are in
        Solr, but may not be searchable for up to its commit interval), by id."""
        metadata = self.metadata()
        found = {
            item.id: item for item in metadata.product_items([status.product_id], model_version, MAX_PRODUCT_PHOTOS)
        }
        written = [photo.id for photo in status.items if photo.id not in found]
        found.update(metadata.get(written) if written else {})
        return [found[item_id] for item_id in sorted(found)]

    # --- local photos ------------------------------------------------------------------------------------

    def photo_path(self, photo: str) -> Path | None:
        """The file of a photo (its photo_sha256) in photo_dir, if any (the folder is hashed once, on first use)."""
        with self._photos_lock:
            if self._photos is None:
                self._photos = photo_index(self.settings.api.photo_dir) if self.settings.api.photo_dir else {}
        return self._photos.get(photo)
