"""The spout's reading of Kafka on the real broker: batches of every codec a Java crawler uses, and undecodable ones."""

import kafka.codec
import pytest
from kafka import KafkaConsumer, TopicPartition

from devstack.launcher import Stack
from ingest.topics import ensure_topics
from settings import StoreSettings
from tests.ingest.kafka_helpers import unique_topic
from tests.topologies.running_topology import publish, publish_with_java
from topologies.ingest.kafka_spout import poll_skipping_undecodable

pytestmark = [pytest.mark.integration]

CODECS = ["snappy", "lz4", "zstd", "gzip"]


def _consumer(stack: Stack, topic: str) -> KafkaConsumer:
    ensure_topics(StoreSettings(kafka_bootstrap_servers=stack.settings.kafka_bootstrap()), {topic: 1})
    consumer = KafkaConsumer(bootstrap_servers=stack.settings.kafka_bootstrap(), auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None)  # fmt: skip
    consumer.assign([TopicPartition(topic, 0)])
    return consumer


def _read(consumer: KafkaConsumer, count: int) -> tuple[list[bytes], list[str]]:
    """Values read until count arrived (or 100 polls), and the reasons of the batches skipped meanwhile."""
    values, skipped = [], []
    for _ in range(100):
        records, skip = poll_skipping_undecodable(
            consumer, 100, StoreSettings(kafka_bootstrap_servers=consumer.config["bootstrap_servers"])
        )
        values += [record.value for record in records]
        skipped += [skip.reason()] if skip else []
        if len(values) >= count:
            break
    return values, skipped


def test_batches_of_every_java_codec_are_read(stack: Stack) -> None:
    topic = unique_topic("codecs")
    consumer = _consumer(stack, topic)
    sent = [(codec, f"P{n}".encode(), f'{{"n": {n}, "codec": "{codec}"}}'.encode()) for n, codec in
            enumerate(CODECS * 3)]  # fmt: skip
    publish_with_java(stack.settings, topic, sent)
    values, skipped = _read(consumer, len(sent))
    consumer.close()
    assert sorted(values) == sorted(value for _, _, value in sent) and skipped == []


def test_an_undecodable_batch_is_skipped_with_its_offsets(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = unique_topic("undecodable")
    consumer = _consumer(stack, topic)
    publish(stack.settings.kafka_bootstrap(), topic, [(b"k", b"before")])
    publish_with_java(stack.settings, topic, [("snappy", b"k", f"snappy-{n}".encode()) for n in range(5)])
    publish(stack.settings.kafka_bootstrap(), topic, [(b"k", b"after")])
    monkeypatch.setattr(kafka.codec, "snappy", None)  # a client without the snappy codec
    values, skipped = _read(consumer, 2)
    consumer.close()
    assert values == [b"before", b"after"]
    assert len(skipped) == 1 and f"{topic}/0 offsets 1..5" in skipped[0] and "snappy" in skipped[0].lower()
