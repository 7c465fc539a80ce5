"""Index: batches embedded items and writes each batch to Milvus and Solr; acks once both stores have it."""

import time
from typing import Any

from streamparse import Stream, Tuple

from indexer.catalog_index import CatalogIndex
from indexer.errors import IndexerError
from indexer.item import CatalogItem
from ingest.dead_letter import DeadLetter
from ingest.message import DeleteMessage
from ingest.stages import IndexOp, apply_index_ops, original_message, vector_from_text
from topologies.ingest.batch_bolt import BatchBolt
from topologies.ingest.reporting import DEAD_LETTER_STREAM, component_setup


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
        self.settings, indexer_settings, self.counters = component_setup(storm_conf, context)
        self.index = CatalogIndex.from_settings(indexer_settings, self.settings.embedding_dim)
        self.batch_size = self.settings.index_batch_size

    def process_batch(self, batch: list[Tuple]) -> None:
        """Write the batch; ack what was written, dead-letter what a store rejected, fail all if a store is down."""
        started = time.monotonic()
        try:
            ops = [index_op(*tup.values[1:]) for tup in batch]
            rejected = apply_index_ops(self.index, ops)
        except IndexerError as error:
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
        self.counters.add("indexed", sum(1 for tup in batch if tup.values[1] == "upsert") - len(rejected))
        self.counters.add("deleted", sum(1 for tup in batch if tup.values[1] == "delete"))
