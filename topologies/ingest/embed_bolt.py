"""Embed: batches decoded photos and embeds each batch in one forward pass; ticks flush a partial batch."""

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray
from streamparse import Tuple

from embedder import Embedder
from ingest.message import UpsertMessage
from ingest.stages import pixels_from_text, vector_to_text
from topologies.ingest.batch_bolt import BatchBolt
from topologies.ingest.reporting import component_setup


class EmbedBolt(BatchBolt):
    """Emits (product_id, op, payload, vector): payload is the catalog item (upsert) or the message (delete)."""

    outputs = ["product_id", "op", "payload", "vector"]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.settings, self.counters = component_setup(storm_conf, context)
        embedding = self.settings.embedding
        self.embedder = Embedder.load(embedding.model_path, threads=embedding.torch_threads, device=embedding.device)
        self.batch_size = self.settings.ingest.embed_batch_size

    def process_batch(self, batch: list[Tuple]) -> None:
        """Embed the pending upserts in one pass, pass deletes on in order, and ack the batch."""
        started = time.monotonic()
        upserts = [tup for tup in batch if tup.values[1] == "upsert"]
        vectors = iter(())
        if upserts:
            pixels = np.stack([pixels_from_text(tup.values[4], self.embedder.config) for tup in upserts])
            vectors = iter(self.embedder.embed_pixels(pixels))  # (B, D)
            self.counters.observe("embed", time.monotonic() - started, len(upserts))
        outputs = [self._output(tup, vectors) for tup in batch]  # everything that can raise, before any emit
        for tup, values in zip(batch, outputs, strict=True):
            self.emit(values, anchors=[tup])
            self.ack(tup)
        self.counters.add("embedded", len(upserts))

    def _output(self, tup: Tuple, vectors: Iterator[NDArray[np.float32]]) -> list[str | None]:
        """The tuple to emit for one input: an upsert's item and vector (the next of vectors), or the delete."""
        product_id, op, message, photo_sha256, _, thumbnail = tup.values
        if op != "upsert":
            return [product_id, op, message, None]
        item = UpsertMessage.model_validate_json(message).to_item(photo_sha256, self.embedder.version, thumbnail)
        return [product_id, op, item.model_dump_json(), vector_to_text(next(vectors))]
