"""The ingest exporter on the real Kafka: counters files, per-partition lag and orphan counts as Prometheus text."""

import json
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata
from prometheus_client import generate_latest

from ingest.counters import StageCounters
from ingest.metrics_export import RECONCILE_FILE, consumer_lag, ingest_registry
from settings import StoreSettings


def test_lag_counters_latency_and_orphans_are_exported(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(5):
        producer.send(topic, value=b"x", partition=0)
    for _ in range(3):
        producer.send(topic, value=b"x", partition=1)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})  # the topology did 2 of partition 0
    consumer.close()

    assert consumer_lag(StoreSettings(kafka_bootstrap_servers=kafka_bootstrap), topic, group) == {0: 3, 1: 3}

    counters = StageCounters("index_bolt", 4)
    counters.add("indexed", 7)
    counters.observe("index", 0.5, 10)
    counters.write(tmp_path)
    (tmp_path / RECONCILE_FILE).write_text(json.dumps({"orphans": {"milvus": 2, "solr": 0}}))
    text = generate_latest(
        ingest_registry(tmp_path, StoreSettings(kafka_bootstrap_servers=kafka_bootstrap), topic, group)
    ).decode()

    assert 'cbir_ingest_events_total{component="index_bolt",event="indexed",task="4"} 7.0' in text
    assert 'cbir_ingest_stage_latency_seconds{component="index_bolt",stage="index",stat="mean",task="4"} 0.05' in text
    assert f'cbir_ingest_consumer_lag{{partition="0",topic="{topic}"}} 3.0' in text
    assert 'cbir_reconcile_orphans{side="milvus"} 2.0' in text
