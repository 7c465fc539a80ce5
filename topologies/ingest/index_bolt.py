"""Index: batches embedded items and writes each batch to Milvus (the collection of each item's model) and Solr,
then each product's status; acks once both stores and Kafka have them. Its first task also looks for orphans on a
schedule (the reconciler), in the serving model's collection."""

import time
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from streamparse import Stream, Tuple

from indexer.catalog_index import CatalogIndex
from indexer.errors import IndexerError
from indexer.item import CatalogItem
from indexer.model_registry import registry_view
from indexer.reconcile import ReconcileSchedule, find_orphans
from ingest.dead_letter import DeadLetter
from ingest.kafka_config import kafka_client_options
from ingest.message import DeleteMessage
from ingest.metrics_export import write_orphan_counts
from ingest.stages import IndexOp, apply_index_ops, by_model, original_message, vector_from_text, written_statuses
from topologies.ingest.batch_bolt import BatchBolt
from topologies.ingest.reporting import DEAD_LETTER_STREAM, component_setup, is_first_task, send_statuses


def index_op(op: str, payload: str, vector: str | None) -> IndexOp:
    """The write a tuple asks for (the vector as vector_to_text)."""
    if op == "upsert" and vector is not None:
        return IndexOp(item=CatalogItem.model_validate_json(payload), vector=vector_from_text(vector))
    message = DeleteMessage.model_validate_json(payload)
    return IndexOp(delete_product=message.product_id, deleted_at=message.deleted_at)


class IndexBolt(BatchBolt):
    """Writes batches through indexer's CatalogIndex; a batch that fails is failed whole (and replayed)."""

    outputs = [Stream(fields=["dead_letter"], name=DEAD_LETTER_STREAM)]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.settings, self.counters = component_setup(storm_conf, context)
        self.models = registry_view(self.settings)
        self.indexes: dict[str, CatalogIndex] = {}  # by model version, connected when an item of it first comes
        self.batch_size = self.settings.ingest.index_batch_size
        self.producer = KafkaProducer(**kafka_client_options(self.settings.stores))
        s = self.settings.ingest
        self.reconcile = (
            ReconcileSchedule(s.reconcile_interval_s, s.reconcile_settle_s, time.monotonic())
            if s.reconcile_interval_s > 0 and is_first_task(context)
            else None
        )

    def process_tick(self, tup: Tuple) -> None:
        super().process_tick(tup)  # the pending batch is written first: this task has no write in flight
        if self.reconcile is not None and self.reconcile.due(time.monotonic()):
            self._reconcile()

    def _reconcile(self) -> None:
        """One step of the scheduled check; the settled counts go to the metrics folder (repair is an operator's)."""
        assert self.reconcile is not None
        try:
            orphans = self.reconcile.run(time.monotonic(), lambda: find_orphans(self._serving_index()))
        except IndexerError as error:
            self.logger.warning("reconciliation skipped: %s", error)
            return
        if orphans is None:
            return
        log = self.logger.warning if orphans.count else self.logger.info
        log("reconciliation: %d Milvus-only, %d Solr-only ids", len(orphans.milvus_only), len(orphans.solr_only))
        if self.settings.ingest.metrics_dir is not None:
            write_orphan_counts(self.settings.ingest.metrics_dir, len(orphans.milvus_only), len(orphans.solr_only))

    def _index(self, version: str, dim: int) -> CatalogIndex:
        """The catalog index of a model version's collection (and Solr)."""
        if version not in self.indexes:
            s = self.settings
            self.indexes[version] = CatalogIndex.from_settings(s.stores, s.indexer, version, dim)
        return self.indexes[version]

    def _serving_index(self) -> CatalogIndex:
        model = self.models.serving()
        return self._index(model.version, model.dim)

    def process_batch(self, batch: list[Tuple]) -> None:
        """Write the batch and its statuses; ack what was written, dead-letter what a store rejected, fail all if a
        store or Kafka is down."""
        started = time.monotonic()
        try:
            ops = [index_op(*tup.values[1:]) for tup in batch]
            rejected = {}
            for model, positions in by_model(ops).items():  # deletes (model None) reach every model's collection
                first = ops[positions[0]]
                index = self._index(model, len(first.vector)) if model and first.vector is not None else None
                done = apply_index_ops(index or self._serving_index(), [ops[p] for p in positions])
                rejected.update({positions[i]: rejection for i, rejection in done.items()})
            send_statuses(self.producer, self.settings.stores, written_statuses(ops, rejected))
        except (IndexerError, KafkaError) as error:
            self.logger.warning("batch of %d not written (%s); failing it for a replay", len(batch), error)
            for tup in batch:
                self.fail(tup)
            self.counters.add("index_failed", len(batch))
            return
        for position, rejection in rejected.items():
            record = DeadLetter.of(original_message(ops[position]), rejection.stage, rejection.reason)
            self.emit([record.model_dump_json()], stream=DEAD_LETTER_STREAM, anchors=[batch[position]])
        for tup in batch:
            self.ack(tup)
        self.counters.observe("index", time.monotonic() - started, len(batch))
        self.counters.add("indexed", sum(1 for tup in batch if tup.values[1] == "upsert") - len(rejected))  # per model
        self.counters.add("deleted", sum(1 for tup in batch if tup.values[1] == "delete"))
