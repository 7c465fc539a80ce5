"""Follows the status topic in a background thread, keeping the latest record of each product in memory."""

import logging
import threading

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import ValidationError

from ingest.kafka_config import kafka_client_options
from ingest.status import ProductStatus, StatusTable
from settings import StoreSettings

logger = logging.getLogger(__name__)


class StatusReader:
    """Reads the whole (compacted) topic from its beginning, then follows it; reconnects when Kafka fails.

    Until it has read up to the end offsets it saw when it connected, `caught_up()` is false: an absent product
    may then only not be read yet. After that the table may lag behind the topic by a poll, or by a Kafka outage.
    """

    def __init__(self, stores: StoreSettings, topic: str, retry_s: float = 2.0, timeout_s: float = 5.0) -> None:
        self.stores, self.topic = stores, topic
        self.retry_s, self.timeout_s = retry_s, timeout_s
        self.table = StatusTable()
        self.problem = "not started"  # why the reader is not caught up ('' once it is)
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._positions: dict[int, int] = {}  # partition -> next offset to read
        self._thread = threading.Thread(target=self._run, daemon=True, name="status-reader")

    def start(self) -> "StatusReader":
        """Start following the topic in the background (returns at once, Kafka up or not)."""
        self._thread.start()
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop following the topic."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def caught_up(self) -> bool:
        """Whether the topic has been read to the end once since start-up."""
        return self._caught_up.is_set()

    def get(self, product_id: str) -> ProductStatus | None:
        """The latest status of a product read so far."""
        return self.table.get(product_id)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as error:  # Kafka down or the topic missing: try again, never stop the thread
                self.problem = f"cannot read {self.topic} at {self.stores.kafka_bootstrap_servers}: {error!r}"
                logger.warning("%s; retrying in %.0f s", self.problem, self.retry_s)
                self._stop.wait(self.retry_s)

    def _follow(self) -> None:
        """Read from the last positions (the beginning at first) until stopped or Kafka fails."""
        timeout_ms = int(self.timeout_s * 1000)
        consumer = KafkaConsumer(
            **kafka_client_options(self.stores), group_id=None, enable_auto_commit=False,
            request_timeout_ms=timeout_ms + 1, bootstrap_timeout_ms=timeout_ms,
        )  # fmt: skip
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                raise LookupError(f"topic {self.topic} does not exist")
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            for tp in tps:
                if tp.partition in self._positions:
                    consumer.seek(tp, self._positions[tp.partition])
                else:
                    consumer.seek_to_beginning(tp)
            ends = consumer.end_offsets(tps)
            while not self._stop.is_set():
                for tp, records in consumer.poll(timeout_ms=500).items():
                    for record in records:
                        self._apply(record)
                    self._positions[tp.partition] = records[-1].offset + 1
                if not self.caught_up() and all(consumer.position(tp) >= ends[tp] for tp in tps):
                    self.problem = ""
                    self._caught_up.set()
                    logger.info("status topic %s read: %d products", self.topic, len(self.table))
        finally:
            consumer.close()

    def _apply(self, record: ConsumerRecord) -> None:
        if record.value is None:
            return
        try:
            self.table.apply(record.offset, ProductStatus.decode(record.value))
        except ValidationError as error:
            logger.warning("%s/%d/%d is not a status record: %s", record.topic, record.partition, record.offset, error)
