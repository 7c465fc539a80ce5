"""Embed: batches decoded photos and embeds each batch in one forward pass per model (the fetch bolt names each
photo's model); ticks flush a partial batch."""

import time
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
        self.embedders: dict[str, Embedder] = {}  # by model version, loaded when a photo of it first comes
        self.batch_size = self.settings.ingest.embed_batch_size

    def _embedder(self, version: str, checkpoint: str) -> Embedder:
        """The model of this version, loaded once (from the checkpoint the registry gave the fetch bolt)."""
        if version not in self.embedders:
            embedding = self.settings.embedding
            embedder = Embedder.load(checkpoint, threads=embedding.torch_threads, device=embedding.device)
            if embedder.version != version:
                raise ValueError(f"{checkpoint} is model {embedder.version}, registered as {version}")
            self.embedders[version] = embedder
        return self.embedders[version]

    def process_batch(self, batch: list[Tuple]) -> None:
        """Embed the pending upserts in one pass per model, pass deletes on in order, and ack the batch."""
        started = time.monotonic()
        upserts = [tup for tup in batch if tup.values[1] == "upsert"]
        vectors: dict[int, NDArray[np.float32]] = {}  # by id() of the tuple
        for version in dict.fromkeys(tup.values[6] for tup in upserts):
            group = [tup for tup in upserts if tup.values[6] == version]
            embedder = self._embedder(version, group[0].values[7])
            pixels = np.stack([pixels_from_text(tup.values[4], embedder.config) for tup in group])
            vectors.update(zip(map(id, group), embedder.embed_pixels(pixels), strict=True))  # (B, D)
        if upserts:
            self.counters.observe("embed", time.monotonic() - started, len(upserts))
        outputs = [self._output(tup, vectors.get(id(tup))) for tup in batch]  # all that can raise, before any emit
        for tup, values in zip(batch, outputs, strict=True):
            self.emit(values, anchors=[tup])
            self.ack(tup)
        self.counters.add("embedded", len(upserts))

    def _output(self, tup: Tuple, vector: NDArray[np.float32] | None) -> list[str | None]:
        """The tuple to emit for one input: an upsert's item (of its model) and vector, or the delete."""
        product_id, op, message, photo_sha256, _, thumbnail, version, _ = tup.values
        if op != "upsert" or vector is None:
            return [product_id, op, message, None]
        item = UpsertMessage.model_validate_json(message).to_item(photo_sha256, version, thumbnail)
        return [product_id, op, item.model_dump_json(), vector_to_text(vector)]
