"""Re-publishing dead letters: read `images.dlq`, choose records, send their original messages back to `images`."""

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from ingest.dead_letter import DeadLetter
from ingest.errors import KafkaUnavailable, PublishFailed
from ingest.kafka_config import kafka_client_options
from settings import StoreSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetterChoice:
    """Which dead letters to replay: those of a stage and/or a product (None: any)."""

    stage: str | None = None
    product_id: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """Whether the choice takes this dead letter."""
        stage_ok = self.stage is None or letter.stage == self.stage
        return stage_ok and (self.product_id is None or product_id_of(letter) == self.product_id)


def product_id_of(letter: DeadLetter) -> str | None:
    """The product id in a dead letter's message, None if the message has none (not JSON, no product_id)."""
    try:
        data = json.loads(letter.message)
    except json.JSONDecodeError:
        return None
    product = data.get("product_id") if isinstance(data, dict) else None
    return product if isinstance(product, str) else None


def read_dead_letters(stores: StoreSettings, topic: str, timeout_s: float = 30.0) -> list[DeadLetter]:
    """Every dead letter in the topic now, oldest first per partition (records that are not dead letters skipped)."""
    try:
        consumer = KafkaConsumer(**kafka_client_options(stores), group_id=None, enable_auto_commit=False)
    except KafkaError as error:
        raise KafkaUnavailable(f"no Kafka broker answers at {stores.kafka_bootstrap_servers}") from error
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        letters = (_dead_letter(value) for value in _values_until(consumer, ends, timeout_s))
        return [letter for letter in letters if letter is not None]
    finally:
        consumer.close()


def _values_until(consumer: KafkaConsumer, ends: dict[TopicPartition, int], timeout_s: float) -> list[bytes]:
    """The record values up to the end offsets read when the replay started."""
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while any(consumer.position(tp) < end for tp, end in ends.items()) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)])
    return values


def _dead_letter(value: bytes | None) -> DeadLetter | None:
    """The dead letter in a record value, or None."""
    try:
        return DeadLetter.model_validate_json(value or b"")
    except ValueError:
        logger.warning("skipping a record of the dead-letter topic that is not a dead letter")
        return None


def replay(letters: Iterable[DeadLetter], stores: StoreSettings, topic: str) -> int:
    """Publish each dead letter's original message to topic, keyed by its product id; returns how many."""
    producer = KafkaProducer(**kafka_client_options(stores), acks="all")
    try:
        futures = [
            producer.send(topic, key=(product_id_of(letter) or "").encode() or None, value=letter.message.encode())
            for letter in letters
        ]
        producer.flush(timeout=60)
        failed = [future.exception for future in futures if future.failed()]
    except KafkaError as error:
        raise PublishFailed(f"dead letters not re-published to {topic}: {error}") from error
    finally:
        producer.close(timeout=10)
    if failed:
        raise PublishFailed(f"{len(failed)} of {len(futures)} dead letters not re-published: {failed[0]}")
    return len(futures)
