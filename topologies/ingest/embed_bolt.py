"""Embed: batches decoded photos and embeds each batch in one forward pass; ticks flush a partial batch."""

import time
from typing import Any

import numpy as np
from streamparse import Bolt, Tuple

from embedder import Embedder
from ingest.message import UpsertMessage
from ingest.stages import pixels_from_text
from topologies.ingest.reporting import component_setup, report


class EmbedBolt(Bolt):
    """Emits (product_id, op, payload, vector): payload is the catalog item (upsert) or the message (delete)."""

    outputs = ["product_id", "op", "payload", "vector"]
    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, _, self.counters = component_setup(storm_conf, context)
        self.embedder = Embedder.load(self.settings.model_path, threads=self.settings.torch_threads)
        self.batch: list[Tuple] = []

    def process_tick(self, tup: Tuple) -> None:
        self.flush()
        report(self.counters, self.settings, self.logger)

    def process(self, tup: Tuple) -> None:
        self.batch.append(tup)
        if len(self.batch) >= self.settings.embed_batch_size:
            self.flush()

    def flush(self) -> None:
        """Embed the pending upserts in one pass, pass deletes on in order, and ack the batch."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        started = time.monotonic()
        upserts = [tup for tup in batch if tup.values[1] == "upsert"]
        vectors = iter(())
        if upserts:
            pixels = np.stack([pixels_from_text(tup.values[4], self.embedder.config) for tup in upserts])
            vectors = iter(self.embedder.embed_pixels(pixels))  # (B, D)
            self.counters.observe("embed", time.monotonic() - started, len(upserts))
        for tup in batch:
            product_id, op, message, item_id, _ = tup.values
            if op == "upsert":
                item = UpsertMessage.model_validate_json(message).to_item(item_id, self.embedder.version)
                self.emit([product_id, op, item.model_dump_json(), next(vectors).tolist()], anchors=[tup])
            else:
                self.emit([product_id, op, message, None], anchors=[tup])
            self.ack(tup)
        self.counters.add("embedded", len(upserts))
