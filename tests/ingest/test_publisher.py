import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from ingest.errors import KafkaUnavailable, PublishFailed
from ingest.message import DeleteMessage, UpsertMessage, parse_message
from ingest.publisher import CatalogPublisher
from tests.ingest.kafka_helpers import CLOTHING_SMALL, read_topic, unique_topic
from tests.ingest.test_message import upsert_fields

pytestmark = pytest.mark.integration


def test_published_messages_arrive_keyed_and_in_order(kafka_bootstrap: str) -> None:
    topic = unique_topic("publish")
    upsert = UpsertMessage.model_validate(upsert_fields())
    delete = DeleteMessage(schema_version=1, op="delete", product_id="P1")
    with CatalogPublisher(kafka_bootstrap, topic=topic) as publisher:
        publisher.publish(upsert)
        publisher.publish(delete)
        assert publisher.flush() == 2
    records = read_topic(kafka_bootstrap, topic, 2)
    assert [r.key for r in records] == [b"P1", b"P1"]
    assert [parse_message(r.value) for r in records] == [upsert, delete]


def test_a_message_too_large_is_a_clear_error(kafka_bootstrap: str) -> None:
    message = UpsertMessage.model_validate(upsert_fields(image_b64="A" * 40_000))
    with (
        CatalogPublisher(kafka_bootstrap, topic=unique_topic("large"), max_request_size=10_000) as publisher,
        pytest.raises(PublishFailed, match="product P1 .* not published"),
    ):
        publisher.publish(message)


def test_no_broker_is_a_clear_error(dead_port: int) -> None:
    with pytest.raises(KafkaUnavailable, match=f"127.0.0.1:{dead_port}"):
        CatalogPublisher(f"127.0.0.1:{dead_port}")


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
