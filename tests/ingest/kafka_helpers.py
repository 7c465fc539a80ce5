"""Reading a real Kafka topic from the tests."""

import time
import uuid

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

CLOTHING_SMALL = "../shared/datasets/clothing-small"


def unique_topic(prefix: str) -> str:
    """A topic name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def read_topic(bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list[ConsumerRecord]:
    """The first count records of a topic (fewer if the timeout passes first), in partition/offset order."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))
