"""Publishing products to Kafka (POST /v1/items, accepted annotations) and what became of them (their status).

The status topic is read in the background (ingest/status_reader.py); a publish records `queued` first, so the
latest status of a product is the topology's once it has processed the message.
"""

import threading

from kafka.producer.future import RecordMetadata

from api.errors import ProductNotFound, StatusUnavailable
from api.metrics import ApiMetrics
from api.store_clients import StoreClients
from indexer.item import CatalogItem
from ingest.message import UpsertMessage
from ingest.publisher import CatalogPublisher
from ingest.status import ProductStatus
from ingest.status_reader import StatusReader
from ingest.topics import MAX_MESSAGE_BYTES
from settings import StoreSettings

MAX_PRODUCT_PHOTOS = 100  # photos listed in a product's status


class ProductPublishing:
    """One Kafka producer (replaced after a failure) and the table of product statuses."""

    def __init__(self, stores: StoreSettings, catalog: StoreClients, metrics: ApiMetrics) -> None:
        self.stores = stores
        self.catalog = catalog
        self.metrics = metrics
        self._publisher: CatalogPublisher | None = None
        self._lock = threading.Lock()
        self.statuses = StatusReader(stores, stores.status_topic, timeout_s=stores.timeout_s)

    def start(self) -> None:
        """Read the status topic in the background (Kafka may be down now: the reader retries)."""
        self.statuses.start()

    def close(self) -> None:
        self.statuses.close()
        if self._publisher is not None:
            self._publisher.close(timeout_s=2.0)

    def publish(self, message: UpsertMessage) -> RecordMetadata:
        """Record the product as `queued`, then publish the message, each once Kafka confirms the one before
        (serialised: publishing is a low-rate path).

        After a failure the producer is replaced: kafka-python's idempotent producer stays broken after some broker
        errors, and its pending messages must not be reported to the next client.
        """
        with self._lock:
            publisher = self._publisher or self._open_publisher()
            self._publisher = publisher
            try:
                with self.metrics.store_call("kafka", "publish"):
                    queued = ProductStatus.queued(message.product_id)
                    recorded = publisher.record_status(self.stores.status_topic, queued,
                                                       timeout_s=self.stores.timeout_s)  # fmt: skip
                    self.statuses.table.apply(recorded.offset, queued)  # answer at once, before the reader sees it
                    future = publisher.publish(message)
                    publisher.flush(timeout_s=self.stores.timeout_s)
                return future.get(timeout=0)
            except Exception:
                self._publisher = None
                publisher.close(timeout_s=0)
                raise

    def _open_publisher(self) -> CatalogPublisher:
        """A producer that fails within the store timeout when the broker is down, not after a 30-60 s hang."""
        with self.metrics.store_call("kafka", "connect"):
            timeout_ms = int(self.stores.timeout_s * 1000)
            return CatalogPublisher(
                self.stores, topic=self.stores.topic, linger_ms=0, max_request_size=MAX_MESSAGE_BYTES,
                request_timeout_ms=timeout_ms, max_block_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms,
            )  # fmt: skip

    def product_status(self, product_id: str) -> ProductStatus:
        """The latest status of a product; StatusUnavailable until the status topic is read, ProductNotFound."""
        if not self.statuses.caught_up():
            raise StatusUnavailable(f"product statuses are not read yet ({self.statuses.problem})", retry_after_s=5)
        status = self.statuses.get(product_id)
        if status is None:
            raise ProductNotFound(f"no status of product {product_id}: not published through this API, or not "
                                  "processed yet")  # fmt: skip
        return status

    def product_photos(self, status: ProductStatus) -> list[CatalogItem]:
        """The product's searchable photos (Solr's items are every model's), and the photos its latest message
        wrote (they are in Solr, but may not be searchable for up to its commit interval), by id."""
        metadata = self.catalog.metadata()
        found = {item.id: item for item in metadata.product_items([status.product_id], rows=MAX_PRODUCT_PHOTOS)}
        written = [photo.id for photo in status.items if photo.id not in found]
        found.update(metadata.get(written) if written else {})
        return [found[item_id] for item_id in sorted(found)]
