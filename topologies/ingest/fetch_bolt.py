"""Fetch and decode: parse the message, get the photo (inline or by URL), keep it in the photo store, and decode it
to the pixels of each model the ingest writes (the serving one, and any a promotion builds or keeps on standby)."""

import time
from datetime import UTC, datetime
from typing import Any

from streamparse import Bolt, Stream, Tuple

from embedder.checkpoint_facts import read_config
from embedder.config import ModelConfig
from indexer.model_registry import ModelRecord, registry_view
from indexer.photo_store import PhotoStore
from ingest.dead_letter import DeadLetter
from ingest.errors import RecordRejected
from ingest.fetch import FETCH_STAGE, FetchPolicy, ImageUnavailable, fetch_client, fetch_image
from ingest.message import DeleteMessage, parse_message
from ingest.stages import PreparedImage, image_bytes, pixels_to_text, prepare
from topologies.ingest.reporting import DEAD_LETTER_STREAM, component_setup, report


class FetchBolt(Bolt):
    """Emits (product_id, op, message, photo_sha256, pixels, thumbnail, model_version, checkpoint), one tuple per
    model for an upsert (one for a delete); bad records to the dead-letter stream."""

    outputs = [
        Stream(
            fields=[
                "product_id",
                "op",
                "message",
                "photo_sha256",
                "pixels",
                "thumbnail",
                "model_version",
                "checkpoint",
            ],
            name="default",
        ),
        Stream(fields=["dead_letter"], name=DEAD_LETTER_STREAM),
    ]
    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, self.counters = component_setup(storm_conf, context)
        self.models = registry_view(self.settings)  # the models whose collections the ingest keeps current
        self.configs: dict[str, ModelConfig] = {}  # by model version, read without torch or weights
        self.photos = PhotoStore(self.settings.stores.photo_store)
        self.policy = FetchPolicy.of(self.settings.fetch)
        self.http = fetch_client("cbir-fashion-ingest/1")  # a total deadline on every fetch, checked addresses

    def process_tick(self, tup: Tuple) -> None:
        report(self.counters, self.settings.ingest, self.logger)

    def process(self, tup: Tuple) -> None:
        product_id, raw, source, attempt, published_at = tup.values
        started = time.monotonic()
        self.counters.add("processed")
        try:
            self._process(raw, published_at, tup)
        except RecordRejected as error:
            self._dead_letter(tup, error.stage, error.reason)
            self.counters.add(f"rejected_{error.stage}")
        except ImageUnavailable as error:
            self.logger.warning("%s: %s (will be replayed)", source, error)
            self.counters.add("fetch_unavailable")
            self.fail(tup)
            return
        except Exception as error:  # no input may stop the stream: replay, and dead-letter at the last attempt
            self.logger.exception("%s: unexpected error (attempt %d)", source, attempt)
            self.counters.add("fetch_unexpected_error")
            if attempt <= self.settings.ingest.max_replays:
                self.fail(tup)
                return
            self._dead_letter(tup, FETCH_STAGE, f"unexpected error at attempt {attempt}: {error!r}")
        self.counters.observe("fetch_decode", time.monotonic() - started)
        self.ack(tup)

    def _dead_letter(self, tup: Tuple, stage: str, reason: str) -> None:
        """Send the tuple's message to the dead-letter stream."""
        _, raw, source, _, _ = tup.values
        record = DeadLetter.of(raw, stage, reason, source=source)
        self.emit([record.model_dump_json()], stream=DEAD_LETTER_STREAM, anchors=[tup])

    def _process(self, raw: str, published_at: int, tup: Tuple) -> None:
        message = parse_message(raw)
        if isinstance(message, DeleteMessage):
            if published_at >= 0:  # an undated delete is dated when it was published, however often it is replayed
                message = message.dated(datetime.fromtimestamp(published_at / 1000, UTC))
            values = [message.product_id, message.op, message.model_dump_json(), None, None, None, None, None]
            self.emit(values, anchors=[tup])
            return
        fetch = lambda url: fetch_image(url, self.policy, self.http)  # noqa: E731
        data = image_bytes(message, fetch, self.settings.fetch.max_image_bytes)
        decoded: list[tuple[ModelConfig, PreparedImage]] = []  # models of one input config share one decoding
        outputs = []
        for model in self.models.written():
            config = self._config(model)
            prepared = next((done for seen, done in decoded if seen == config), None)
            if prepared is None:
                prepared = prepare(message, data, config)
                decoded.append((config, prepared))
            values = [message.product_id, "upsert", prepared.message.model_dump_json(), prepared.photo_sha256]
            outputs.append([*values, pixels_to_text(prepared.pixels), prepared.thumbnail, model.version,
                            model.checkpoint])  # fmt: skip
        self.photos.put(data, outputs[0][3])  # before any store has the item: a promotion re-embeds from it
        for values in outputs:
            self.emit(values, anchors=[tup])

    def _config(self, model: ModelRecord) -> ModelConfig:
        """The model's input config, read once per version from its checkpoint."""
        if model.version not in self.configs:
            self.configs[model.version] = read_config(model.checkpoint).config
        return self.configs[model.version]
