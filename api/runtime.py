"""What the app opens once at start-up and shares between requests: the model, its threads, the store clients.

Concurrency model: one event loop (uvicorn) accepts and parses requests; decoding and embedding (CPU-bound
torch) run in a bounded thread pool of `embed_workers` threads, so at most that many images are in the model
at once and the loop stays responsive; blocking store calls (pymilvus, pysolr, kafka-python) run in the
loop's default thread pool. The clients are thread-safe and are built once, on first use, then reused.
"""

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from kafka.producer.future import RecordMetadata
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from api.metrics import ApiMetrics
from api.settings import ApiSettings
from embedder import CheckpointError, Embedder
from embedder.text_encoder import TextEmbedder
from indexer.errors import IndexerError
from indexer.item import item_id_for_image
from indexer.metadata_store import MetadataStore
from indexer.vector_store import VectorIndexConfig, VectorStore
from ingest.fetch import FetchPolicy, fetch_client, fetch_image
from ingest.message import UpsertMessage
from ingest.publisher import CatalogPublisher

logger = logging.getLogger(__name__)

T = TypeVar("T")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # the producer's max_request_size: larger messages are refused with 413


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
    """Item id (SHA-256 of the bytes) -> path, for every photo under folder."""
    paths = (path for path in folder.rglob("*") if path.suffix.lower() in PHOTO_SUFFIXES and path.is_file())
    return {item_id_for_image(path.read_bytes()): path for path in paths}


class Runtime:
    """The embedder, its executor, and lazily connected store clients (reconnected after a failure)."""

    def __init__(
        self, settings: ApiSettings, embedder: Embedder, metrics: ApiMetrics, text_encoder: TextEmbedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.text_encoder = text_encoder
        self.metrics = metrics
        self.model_version = settings.collection_version or embedder.version
        self.executor = ThreadPoolExecutor(settings.embed_workers, thread_name_prefix="embed")
        self.http = fetch_client("cbir-fashion-api")
        self.fetch_policy = FetchPolicy.of(
            settings.image_fetch_timeout_s, settings.max_upload_bytes, settings.image_fetch_allowed_networks,
            max_redirects=settings.image_fetch_max_redirects,
        )  # fmt: skip
        self._vectors_lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        self._vectors: VectorStore | None = None
        self._metadata: MetadataStore | None = None
        self._publisher: CatalogPublisher | None = None
        self._publish_lock = threading.Lock()
        self._photos: dict[str, Path] | None = None
        self._photos_lock = threading.Lock()

    @classmethod
    def open(cls, settings: ApiSettings, metrics: ApiMetrics) -> "Runtime":
        """Load the model (once) and try the stores; a store that is down now is connected on first use."""
        embedder = Embedder.load(settings.model_path, batch_size=8, threads=settings.torch_threads)
        text_encoder = TextEmbedder.load(settings.text_encoder_path) if settings.text_encoder_path else None
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
        if settings.photo_dir is not None:  # hash the photo folder in the background, not on the first request
            threading.Thread(target=runtime.photo_path, args=("",), daemon=True, name="photo-index").start()
        return runtime

    def pixel_shape(self) -> tuple[int, int, int]:
        config = self.embedder.config
        return (config.channels, config.image_height, config.image_width)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()
        if self._publisher is not None:
            self._publisher.close(timeout_s=2.0)

    # --- stores -------------------------------------------------------------------------------------------

    def vectors(self) -> VectorStore:
        """The Milvus collection of the model version, connected on first use."""
        with self._vectors_lock:
            if self._vectors is None:
                settings = self.settings
                index = VectorIndexConfig(metric_type=settings.metric_type, search_params=settings.index_search_params)
                with self.metrics.store_call("milvus", "connect"):
                    self._vectors = VectorStore.connect(
                        settings.milvus_uri, self.model_version, self.embedder.dim,
                        timeout_s=settings.store_timeout_s, index=index,
                    )  # fmt: skip
            return self._vectors

    def metadata(self) -> MetadataStore:
        """The Solr catalog core, connected (pinged) on first use."""
        with self._metadata_lock:
            if self._metadata is None:
                with self.metrics.store_call("solr", "connect"):
                    self._metadata = MetadataStore.connect(
                        self.settings.solr_core_url, timeout_s=self.settings.store_timeout_s
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

    async def embed(self, image: bytes, timings: Timings) -> NDArray[np.float32]:
        """Decode, resize and embed one query image in the embedding pool: (D,) unit vector."""

        def work() -> tuple[NDArray[np.float32], float, float]:
            started = time.perf_counter()
            pixels = self.embedder.pixels([image])  # (1, C, H, W) uint8: decoded at reduced scale, resized once
            decoded = time.perf_counter()
            vector = self.embedder.embed_pixels(pixels)[0]  # (D,)
            return vector, decoded - started, time.perf_counter() - decoded

        vector, decode_s, embed_s = await asyncio.get_running_loop().run_in_executor(self.executor, work)
        timings.add("decode", decode_s)
        timings.add("embed", embed_s)
        return vector

    async def fetch(self, url: str, timings: Timings) -> bytes:
        """The bytes of a query image given by URL (SSRF-safe: internal addresses refused, size capped)."""
        started = time.perf_counter()
        try:
            return await run_in_threadpool(fetch_image, url, self.fetch_policy, self.http)
        finally:
            timings.add("fetch", time.perf_counter() - started)

    # --- publishing --------------------------------------------------------------------------------------

    def publish(self, message: UpsertMessage) -> RecordMetadata:
        """Publish one message and wait until Kafka confirms it (serialised: publishing is a low-rate path)."""
        with self._publish_lock:
            if self._publisher is None:
                with self.metrics.store_call("kafka", "connect"):
                    timeout_ms = int(self.settings.store_timeout_s * 1000)
                    self._publisher = CatalogPublisher(
                        self.settings.kafka_bootstrap_servers, topic=self.settings.kafka_topic, linger_ms=0,
                        max_request_size=MAX_MESSAGE_BYTES,
                        # a down broker gives a 503 within the store timeout, not a 30-60 s hang
                        request_timeout_ms=timeout_ms, max_block_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms,
                    )  # fmt: skip
            with self.metrics.store_call("kafka", "publish"):
                future = self._publisher.publish(message)
                self._publisher.flush(timeout_s=self.settings.store_timeout_s)
            return future.get(timeout=0)

    # --- local photos ------------------------------------------------------------------------------------

    def photo_path(self, item_id: str) -> Path | None:
        """The file of an item's photo in photo_dir, if any (the folder is hashed once, on first use)."""
        with self._photos_lock:
            if self._photos is None:
                self._photos = photo_index(self.settings.photo_dir) if self.settings.photo_dir else {}
        return self._photos.get(item_id)

    # --- readiness ---------------------------------------------------------------------------------------

    def kafka_reachable(self) -> str:
        """'' if a TCP connection to one bootstrap server opens, else why not."""
        problems = []
        for server in self.settings.kafka_bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection((host or "localhost", int(port)), timeout=1.0):
                    return ""
            except (OSError, ValueError) as error:
                problems.append(f"{server}: {error}")
        return "; ".join(problems)
