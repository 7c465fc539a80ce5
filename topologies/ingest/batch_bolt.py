"""A bolt that works a batch at a time: when `batch_size` tuples wait, and on every tick (partial batches)."""

from typing import Any

from streamparse import Bolt, Tuple

from ingest.counters import StageCounters
from settings import Settings
from topologies.ingest.reporting import report


class BatchBolt(Bolt):
    """Subclasses call `super().initialize(...)`, set `settings`, `counters` and `batch_size`, and handle one batch
    in `process_batch`.

    `process_batch` must raise before it emits or acks anything (or not at all): then a batch that raises is
    processed again one tuple at a time, and only a tuple that raises alone is failed.

    Unlike streamparse's BatchingBolt (which flushes on ticks only), a full batch is handled at once, so a busy
    stream never waits for the next tick; ticks flush what a quiet stream leaves behind, and report counters.
    """

    auto_ack = False
    settings: Settings
    counters: StageCounters
    batch_size: int

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.pending: list[Tuple] = []

    def process_tick(self, tup: Tuple) -> None:
        self.flush()
        report(self.counters, self.settings.ingest, self.logger)

    def process(self, tup: Tuple) -> None:
        self.pending.append(tup)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            self.process_batch(batch)
        except Exception:  # no input may stop the stream: find the tuple that fails alone, replay it
            self.logger.exception("batch of %d failed unexpectedly; processing it one by one", len(batch))
            for tup in batch:
                self._process_alone(tup)

    def _process_alone(self, tup: Tuple) -> None:
        """Process one tuple; fail it (the spout replays it, then dead-letters it) if it raises."""
        try:
            self.process_batch([tup])
        except Exception:
            self.logger.exception("tuple %s failed unexpectedly; failing it for a replay", tup.id)
            self.counters.add("unexpected_error")
            self.fail(tup)

    def process_batch(self, batch: list[Tuple]) -> None:
        raise NotImplementedError
