"""The crawlers' client: publish ingest messages to Kafka, keyed by product id, with delivery confirmation."""

import logging
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata, RecordMetadata

from ingest.errors import KafkaUnavailable, PublishFailed
from ingest.kafka_config import kafka_client_options
from ingest.message import DeleteMessage, UpsertMessage, encode_message
from ingest.status import ProductStatus
from ingest.topics import MAX_MESSAGE_BYTES
from settings import StoreSettings

logger = logging.getLogger(__name__)

_MAX_REPORTED_FAILURES = 5


class CatalogPublisher:
    """Publishes messages in batches (linger_ms); `flush()` waits until Kafka has every one or says which failed.

    The producer is idempotent with acks=all, so Kafka's own retries neither lose nor duplicate a message, and
    messages of one product (same key, same partition) keep their order.
    """

    def __init__(
        self,
        stores: StoreSettings,
        topic: str | None = None,
        linger_ms: int = 20,
        max_request_size: int = MAX_MESSAGE_BYTES,
        request_timeout_ms: int = 30_000,
        **producer_config: Any,
    ) -> None:
        """Publish to topic (None: stores.topic) of the brokers of stores."""
        self.topic = topic or stores.topic
        try:
            self.producer = KafkaProducer(
                **kafka_client_options(stores),
                linger_ms=linger_ms,
                max_request_size=max_request_size,
                request_timeout_ms=request_timeout_ms,
                **producer_config,
            )
        except KafkaError as error:
            raise KafkaUnavailable(f"no Kafka broker answers at {stores.kafka_bootstrap_servers}") from error
        self._in_flight: list[tuple[str, FutureRecordMetadata]] = []

    def publish(self, message: UpsertMessage | DeleteMessage) -> FutureRecordMetadata:
        """Queue one message (key: its product id); the returned future resolves when Kafka has it."""
        value = encode_message(message)
        try:
            future = self.producer.send(self.topic, key=message.product_id.encode(), value=value)
        except KafkaError as error:  # raised at once for a message that can never be sent (too large, ...)
            raise PublishFailed(f"product {message.product_id} ({len(value)} bytes) not published: {error}") from error
        self._in_flight.append((message.product_id, future))
        return future

    def record_status(self, topic: str, status: ProductStatus, timeout_s: float = 30.0) -> RecordMetadata:
        """Write a product status (keyed by product) and wait until Kafka has it; PublishFailed if it does not."""
        try:
            return self.producer.send(topic, key=status.key(), value=status.encode()).get(timeout=timeout_s)
        except KafkaError as error:
            raise PublishFailed(f"status of product {status.product_id} not recorded: {error}") from error

    def flush(self, timeout_s: float = 60.0) -> int:
        """Wait for every queued message; returns how many Kafka confirmed, or PublishFailed naming the others.

        Either way the messages are forgotten: a later flush reports only on messages published after this one.
        """
        in_flight, self._in_flight = self._in_flight, []
        try:
            self.producer.flush(timeout=timeout_s)
        except KafkaError as error:
            raise PublishFailed(f"{len(in_flight)} messages not confirmed within {timeout_s} s: {error}") from error
        failures = [(product, future.exception) for product, future in in_flight if future.failed()]
        if failures:
            shown = "; ".join(f"{product}: {error}" for product, error in failures[:_MAX_REPORTED_FAILURES])
            raise PublishFailed(f"{len(failures)} of {len(in_flight)} messages failed ({shown})")
        return len(in_flight)

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the producer (pending messages are sent first, up to timeout_s)."""
        self.producer.close(timeout=timeout_s)

    def __enter__(self) -> "CatalogPublisher":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self.close()
