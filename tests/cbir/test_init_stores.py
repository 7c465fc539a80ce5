"""`cbir init-stores` against the real stack: topics and the model's Milvus collection created once, idempotently."""

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from pymilvus import MilvusClient
from typer.testing import CliRunner

from cbir.cli import app
from embedder import Embedder
from indexer.vector_store import collection_name

runner = CliRunner()


@pytest.mark.integration
@pytest.mark.slow
def test_init_stores_creates_what_is_missing_and_nothing_twice(
    monkeypatch: pytest.MonkeyPatch, tiny_checkpoint: Path, kafka_bootstrap: str, milvus_uri: str, solr_core_url: str
) -> None:
    topic = f"images-{uuid.uuid4().hex[:8]}"
    env = {
        "CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CBIR_STORES_TOPIC": topic,
        "CBIR_STORES_DEAD_LETTER_TOPIC": f"{topic}.dlq",
        "CBIR_STORES_STATUS_TOPIC": f"{topic}.status",
        "CBIR_STORES_MILVUS_URI": milvus_uri,
        "CBIR_STORES_SOLR_CORE_URL": solr_core_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    first = runner.invoke(app, ["init-stores", "--model", str(tiny_checkpoint), "--partitions", "2"])
    second = runner.invoke(app, ["init-stores", "--model", str(tiny_checkpoint), "--partitions", "2"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    report, again = json.loads(first.output), json.loads(second.output)
    assert sorted(report["kafka"]["created_topics"]) == [topic, f"{topic}.dlq", f"{topic}.status"]
    assert again["kafka"]["created_topics"] == []
    assert report["solr"]["created"] is False  # the local stack's Solr is standalone: its core is checked

    embedder = Embedder.load(tiny_checkpoint)
    expected = collection_name("catalog", embedder.version, embedder.dim)
    assert report["milvus"]["collection"] == again["milvus"]["collection"] == expected
    assert MilvusClient(uri=milvus_uri).has_collection(expected)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        (description,) = admin.describe_topics([topic])
    finally:
        admin.close()
    assert len(description["partitions"]) == 2
