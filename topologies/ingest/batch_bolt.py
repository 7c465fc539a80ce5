"""A bolt that works a batch at a time: when `batch_size` tuples wait, when the first of them has waited
`batch_max_wait_ms`, and on every tick (partial batches of a quiet stream)."""

import time
from collections.abc import Callable
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
    stream never waits for the next tick, and so is a partial one whose first tuple has waited
    `settings.ingest.batch_max_wait_ms` when another arrives, so a steady stream waits a bounded time, not up to a
    tick per stage; ticks flush what a quiet stream leaves behind, and report counters.
    """

    auto_ack = False
    settings: Settings
    counters: StageCounters
    batch_size: int
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.pending: list[Tuple] = []
        self.pending_since = 0.0  # when the first pending tuple arrived

    def process_tick(self, tup: Tuple) -> None:
        self.flush()
        report(self.counters, self.settings.ingest, self.logger)

    def process(self, tup: Tuple) -> None:
        now = self.clock()
        if not self.pending:
            self.pending_since = now
        self.pending.append(tup)
        waited_ms = (now - self.pending_since) * 1000
        if len(self.pending) >= self.batch_size or waited_ms >= self.settings.ingest.batch_max_wait_ms:
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
