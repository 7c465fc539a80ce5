"""The topology's counters and Kafka consumer lag, exported for Prometheus.

Every component writes its counters to the metrics folder (`StageCounters.write`); at each scrape this collector
reads them, asks Kafka how far the consumer group is behind on each partition, and reads the reconciler's last
orphan counts (`reconcile.json` in the same folder, when the reconciler wrote one).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ingest.kafka_config import kafka_client_options
from settings import StoreSettings

logger = logging.getLogger(__name__)
RECONCILE_FILE = "reconcile.json"


def write_orphan_counts(metrics_dir: Path, milvus_only: int, solr_only: int) -> None:
    """The counts this exporter serves as cbir_reconcile_orphans (written atomically)."""
    metrics_dir.mkdir(parents=True, exist_ok=True)
    temporary = metrics_dir / f"{RECONCILE_FILE}.tmp"
    temporary.write_text(json.dumps({"orphans": {"milvus": milvus_only, "solr": solr_only}}))
    temporary.replace(metrics_dir / RECONCILE_FILE)


def consumer_lag(stores: StoreSettings, topic: str, group: str, timeout_s: float = 5.0) -> dict[int, int]:
    """Messages not yet committed by the group, per partition of the topic (end offset - committed offset)."""
    consumer = KafkaConsumer(
        **kafka_client_options(stores),
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000) + 1,
    )  # fmt: skip  (never subscribes: it only reads the group's committed offsets)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        ends = consumer.end_offsets(partitions)
        return {tp.partition: ends[tp] - (consumer.committed(tp) or 0) for tp in partitions}
    finally:
        consumer.close()


class IngestCollector(Collector):
    """Reads the counters files and the lag at scrape time (nothing is cached between scrapes)."""

    def __init__(self, metrics_dir: Path, stores: StoreSettings | None, topic: str, group: str) -> None:
        """stores None: no lag (the exporter of a deployment without Kafka access)."""
        self.metrics_dir = metrics_dir
        self.stores, self.topic, self.group = stores, topic, group

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        events = CounterMetricFamily(
            "cbir_ingest_events", "Events of each topology task (processed, indexed, dead_lettered, retried, ...)",
            labels=["component", "task", "event"],
        )  # fmt: skip
        latency = GaugeMetricFamily(
            "cbir_ingest_stage_latency_seconds", "Mean and max time per item in each stage, per task",
            labels=["component", "task", "stage", "stat"],
        )  # fmt: skip
        for path in sorted(self.metrics_dir.glob("*.json")):
            if path.name == RECONCILE_FILE:
                continue
            snapshot = json.loads(path.read_text())
            component, task = snapshot["component"], str(snapshot["task"])
            for event, count in snapshot["counts"].items():
                events.add_metric([component, task, event], count)
            for stage, stats in snapshot["latency"].items():
                latency.add_metric([component, task, stage, "mean"], stats["mean_ms"] / 1000)
                latency.add_metric([component, task, stage, "max"], stats["max_ms"] / 1000)
        yield events
        yield latency
        yield self._lag()
        yield self._orphans()

    def _lag(self) -> GaugeMetricFamily:
        lag = GaugeMetricFamily("cbir_ingest_consumer_lag", "Messages published but not yet done, per partition",
                                labels=["topic", "partition"])  # fmt: skip
        if self.stores is None:
            return lag
        try:
            for partition, behind in consumer_lag(self.stores, self.topic, self.group).items():
                lag.add_metric([self.topic, str(partition)], behind)
        except KafkaError as error:
            logger.warning("consumer lag unavailable: %s", error)
        return lag

    def _orphans(self) -> GaugeMetricFamily:
        orphans = GaugeMetricFamily("cbir_reconcile_orphans", "Items in one store only, at the last reconciliation",
                                    labels=["side"])  # fmt: skip
        path = self.metrics_dir / RECONCILE_FILE
        if path.is_file():
            for side, count in json.loads(path.read_text()).get("orphans", {}).items():
                orphans.add_metric([side], count)
        return orphans


def ingest_registry(metrics_dir: Path, stores: StoreSettings, topic: str, group: str) -> CollectorRegistry:
    """A registry holding only the ingest collector (what `cbir topology metrics` serves)."""
    registry = CollectorRegistry()
    registry.register(IngestCollector(metrics_dir, stores, topic, group))
    return registry
