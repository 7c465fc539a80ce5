"""Helpers of the topology tests: settings for the test stack, empty stores, publishing, waiting on the topology."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pysolr
from kafka import KafkaProducer

from cbir.ingest_topology import local_stack_settings
from cbir.stack.launcher import Stack
from cbir.stack.process import ProcessRecord
from indexer.catalog_index import CatalogIndex
from indexer.settings import IndexerSettings
from ingest.settings import IngestSettings
from tests.ingest.kafka_helpers import unique_topic
from tests.topologies.ingest_fixtures import MAX_IMAGE_BYTES


def topology_settings(
    stack: Stack, model: Path, metrics: Path, **ingest: Any
) -> tuple[IngestSettings, IndexerSettings]:
    """Settings of a topology on the test stack, with topics and a consumer group no other test uses."""
    defaults: dict[str, Any] = {
        "topic": unique_topic("images"), "dead_letter_topic": unique_topic("images.dlq"),
        "consumer_group": unique_topic("ingest"), "allowed_networks": ["127.0.0.0/8"],
        "max_image_bytes": MAX_IMAGE_BYTES, "metrics_dir": metrics, "metrics_interval_s": 1.0,
        "embed_batch_size": 16, "index_batch_size": 32, "max_replays": 2,
    }  # fmt: skip
    return local_stack_settings(stack.settings, model, **(defaults | ingest))


def empty_stores(indexer: IndexerSettings, dim: int) -> CatalogIndex:
    """The catalog index, with both stores emptied."""
    index = CatalogIndex.from_settings(indexer, dim)
    index.vectors.drop()
    index = CatalogIndex.from_settings(indexer, dim)
    pysolr.Solr(indexer.solr_core_url).delete(q="*:*", commit=True)
    return index


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) messages to topic and wait until Kafka has them all."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def wait_for(
    condition: Callable[[], bool], record: ProcessRecord, log: Path, timeout_s: float, poll_s: float = 1.0
) -> None:
    """Poll condition until it holds; fail if LocalCluster exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert record.is_alive(), f"LocalCluster exited; see {log}"
        assert time.monotonic() < deadline, f"timed out; see {log}"
        time.sleep(poll_s)


def searchable_count(index: CatalogIndex) -> int:
    """How many items Solr has, after making every acknowledged write searchable."""
    index.metadata.refresh()
    return index.metadata.count()
