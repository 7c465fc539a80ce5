"""Helpers of the topology tests: settings for the test stack, empty stores, publishing, waiting on the topology."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pysolr
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewPartitions

from devstack.jvm import classpath
from devstack.launcher import Stack
from devstack.process import ProcessRecord
from devstack.settings import StackSettings
from embedder.checkpoint_facts import read_config
from indexer.catalog_index import CatalogIndex
from settings import Settings, resolve_settings
from settings.groups import GROUPS
from tests.ingest.kafka_helpers import unique_topic
from tests.topologies.ingest_fixtures import MAX_IMAGE_BYTES


def topology_settings(stack: Stack, solr_core_url: str, model: Path, metrics: Path, **fields: Any) -> Settings:
    """Settings of a topology on the test stack and the test module's Solr core, with topics, a consumer group and
    Milvus collections (prefixed by the core's name) no other test module uses; each of fields (by name, in any
    group) overrides its default here."""
    local = stack.settings
    defaults: dict[str, Any] = {
        "milvus_uri": local.milvus_uri(), "solr_core_url": solr_core_url,
        "milvus_collection_prefix": solr_core_url.rsplit("/", 1)[-1],
        "kafka_bootstrap_servers": local.kafka_bootstrap(), "model_path": model,
        "topic": unique_topic("images"), "dead_letter_topic": unique_topic("images.dlq"),
        "status_topic": unique_topic("images.status"),
        "consumer_group": unique_topic("ingest"), "allowed_networks": ["127.0.0.0/8"],
        "max_image_bytes": MAX_IMAGE_BYTES, "metrics_dir": metrics, "metrics_interval_s": 1.0,
        "embed_batch_size": 16, "index_batch_size": 32, "max_replays": 2, "partition_check_interval_s": 2.0,
    }  # fmt: skip
    return resolve_settings(by_group(defaults | fields), local_stack=False)


def by_group(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields by name -> {group: {field: value}} (a name is in one group only, the API's aside)."""
    groups: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        group = next(g for g, model in GROUPS.items() if g != "api" and name in model.model_fields)
        groups.setdefault(group, {})[name] = value
    return groups


def empty_stores(settings: Settings, dim: int) -> CatalogIndex:
    """The catalog index of the model's version, with both stores emptied."""
    version = read_config(settings.embedding.model_path).version
    index = CatalogIndex.from_settings(settings.stores, settings.indexer, version, dim)
    index.vectors.drop()
    index = CatalogIndex.from_settings(settings.stores, settings.indexer, version, dim)
    pysolr.Solr(settings.stores.solr_core_url).delete(q="*:*", commit=True)
    return index


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) messages to topic and wait until Kafka has them all."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


JAVA_PRODUCER = Path(__file__).parent / "java" / "CompressedProducer.java"


def publish_with_java(stack: StackSettings, topic: str, records: list[tuple[str, bytes, bytes]]) -> None:
    """Send (codec, key, value) records as a crawler on the official Java client would (kafka-clients)."""
    lines = "".join(f"{codec}\t{key.decode()}\t{value.decode()}\n" for codec, key, value in records)
    command = ["java", "-cp", classpath(stack, "kafka"), str(JAVA_PRODUCER), stack.kafka_bootstrap(), topic]
    result = subprocess.run(command, input=lines, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def add_partition_and_publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes | None]]) -> int:
    """Add a partition to topic and send messages to it only; returns the new partition."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    partition = len(admin.describe_topics([topic])[0]["partitions"])
    admin.create_partitions({topic: NewPartitions(total_count=partition + 1)})
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + 30
    while partition not in (producer.partitions_for(topic) or set()):
        assert time.monotonic() < deadline, f"partition {partition} of {topic} never appeared"
        time.sleep(0.5)
    for key, value in messages:
        producer.send(topic, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()
    return partition


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


def _children(pid: int) -> list[int]:
    """PIDs of the direct children of pid (the topology's Python components)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a JVM thread that exited meanwhile (its children move on)
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def crash(record: ProcessRecord, timeout_s: float = 30.0) -> None:
    """SIGKILL the LocalCluster JVM; its Python components exit when their pipes close (killed if they do not)."""
    components = _children(record.pid)
    os.kill(record.pid, signal.SIGKILL)
    os.waitpid(record.pid, 0)
    deadline = time.monotonic() + timeout_s
    while (alive := [pid for pid in components if Path(f"/proc/{pid}").exists()]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
