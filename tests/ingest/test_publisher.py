import json
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from typer.testing import CliRunner

from cbir.cli import app
from ingest.errors import KafkaUnavailable, PublishFailed
from ingest.message import DeleteMessage, UpsertMessage, parse_message
from ingest.publisher import CatalogPublisher
from ingest.topics import MAX_MESSAGE_BYTES, ensure_ingest_topics, ensure_topics
from settings import StoreSettings
from tests.ingest.kafka_helpers import CLOTHING_SMALL, read_topic, unique_topic
from tests.ingest.test_message import upsert_fields

pytestmark = pytest.mark.integration


def test_published_messages_arrive_keyed_and_in_order(kafka_bootstrap: str, kafka_stores: StoreSettings) -> None:
    topic = unique_topic("publish")
    upsert = UpsertMessage.model_validate(upsert_fields())
    delete = DeleteMessage(schema_version=1, op="delete", product_id="P1")
    with CatalogPublisher(kafka_stores, topic=topic) as publisher:
        publisher.publish(upsert)
        publisher.publish(delete)
        assert publisher.flush() == 2
    records = read_topic(kafka_bootstrap, topic, 2)
    assert [r.key for r in records] == [b"P1", b"P1"]
    assert [parse_message(r.value) for r in records] == [upsert, delete]


def test_a_message_too_large_is_a_clear_error(kafka_bootstrap: str, kafka_stores: StoreSettings) -> None:
    message = UpsertMessage.model_validate(upsert_fields(image_b64="A" * 40_000))
    with (
        CatalogPublisher(kafka_stores, topic=unique_topic("large"), max_request_size=10_000) as publisher,
        pytest.raises(PublishFailed, match="product P1 .* not published"),
    ):
        publisher.publish(message)


def topic_config(bootstrap: str, topic: str, name: str) -> str | None:
    """One config value of the topic, as the broker reports it (None: the broker's default, not reported)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, [name])])
    finally:
        admin.close()
    value = configs["topic"][topic].get(name)
    return None if value is None else str(value["value"])


def topic_max_message_bytes(bootstrap: str, topic: str) -> int:
    """The topic's max.message.bytes, as the broker reports it."""
    return int(topic_config(bootstrap, topic, "max.message.bytes") or 0)


def create_small_topic(bootstrap: str, topic: str, max_message_bytes: int) -> None:
    """A topic that takes messages of at most max_message_bytes (as Kafka's 1 MB default does)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": str(max_message_bytes)})])
    finally:
        admin.close()


def test_topics_accept_the_largest_message_the_publisher_sends(
    kafka_bootstrap: str, kafka_stores: StoreSettings
) -> None:
    """ensure_topics (init-stores) sets max.message.bytes on new topics and raises it on existing ones."""
    new, existing = unique_topic("sized"), unique_topic("small")
    create_small_topic(kafka_bootstrap, existing, 1_000_000)
    assert ensure_topics(kafka_stores, {new: 1, existing: 1}) == [new]
    assert topic_max_message_bytes(kafka_bootstrap, new) == MAX_MESSAGE_BYTES
    assert topic_max_message_bytes(kafka_bootstrap, existing) == MAX_MESSAGE_BYTES
    message = UpsertMessage.model_validate(upsert_fields(image_b64="A" * (MAX_MESSAGE_BYTES - 4096)))
    with CatalogPublisher(kafka_stores, topic=existing) as publisher:
        publisher.publish(message)
        assert publisher.flush() == 1
    assert len(read_topic(kafka_bootstrap, existing, 1)[0].value) > MAX_MESSAGE_BYTES - 4096


def test_the_ingest_topics_are_created_and_the_status_topic_is_compacted(kafka_bootstrap: str) -> None:
    settings = StoreSettings(kafka_bootstrap_servers=kafka_bootstrap, topic=unique_topic("images"),
                             dead_letter_topic=unique_topic("dlq"), status_topic=unique_topic("status"))  # fmt: skip
    create_small_topic(kafka_bootstrap, settings.status_topic, 1_000_000)  # made before, not compacted
    created = ensure_ingest_topics(settings, partitions=2)
    assert sorted(created) == sorted([settings.topic, settings.dead_letter_topic])
    assert topic_config(kafka_bootstrap, settings.status_topic, "cleanup.policy") == "compact"
    assert topic_config(kafka_bootstrap, settings.topic, "cleanup.policy") in (None, "delete")
    assert topic_max_message_bytes(kafka_bootstrap, settings.status_topic) == MAX_MESSAGE_BYTES


def test_a_flush_timeout_does_not_poison_the_next_flush(kafka_bootstrap: str, kafka_stores: StoreSettings) -> None:
    """A message still unconfirmed at a flush timeout is reported by that flush only, not by the next one."""
    with CatalogPublisher(kafka_stores, topic=unique_topic("poison")) as publisher:
        publisher.publish(UpsertMessage.model_validate(upsert_fields(product_id="P-early")))
        with pytest.raises(PublishFailed, match="1 messages not confirmed"):
            publisher.flush(timeout_s=1e-6)
        publisher.publish(UpsertMessage.model_validate(upsert_fields(product_id="P-next")))
        assert publisher.flush() == 1


def test_no_broker_is_a_clear_error(dead_port: int) -> None:
    with pytest.raises(KafkaUnavailable, match=f"127.0.0.1:{dead_port}"):
        CatalogPublisher(StoreSettings(kafka_bootstrap_servers=f"127.0.0.1:{dead_port}"))


def test_cli_publishes_a_folder(kafka_bootstrap: str) -> None:
    topic = unique_topic("cli")
    folder = Path(CLOTHING_SMALL) / "test"
    result = CliRunner().invoke(
        app, ["publish", str(folder), "--topic", topic, "--bootstrap-servers", kafka_bootstrap, "--limit", "5"]
    )
    assert result.exit_code == 0, result.output
    assert f"published 5 photos from {folder} to {topic}" in result.output
    records = read_topic(kafka_bootstrap, topic, 5)
    messages = [json.loads(r.value) for r in records]
    assert len(messages) == 5 and all(m["image_b64"] and r.key for m, r in zip(messages, records, strict=True))
