"""Dynamic micro-batching: concurrent requests that arrive within a few milliseconds share one batched call.

The policy (the way Triton's dynamic batcher and TorchServe batch): a request that finds the batcher idle runs at
once, alone, so a lone query never waits. While batches are running, new requests queue; a free slot takes every
queued request (at most `max_batch`) after waiting at most `max_wait_s` for more to arrive, and a slot that frees
up takes the queue at once (those requests have already waited). At most `max_in_flight` batches run at a time,
in the given executor, so the event loop never blocks.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Pending(Generic[In, Out]):
    """One queued request and the future its caller awaits."""

    item: In
    future: "asyncio.Future[Out]"


class MicroBatcher(Generic[In, Out]):
    """Runs `run_batch(items) -> outputs` (one output per item, same order) over batches of concurrent submits."""

    def __init__(
        self,
        run_batch: Callable[[list[In]], Sequence[Out]],
        executor: Executor | None = None,
        max_batch: int = 16,
        max_wait_s: float = 0.002,
        max_in_flight: int = 1,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1 or max_wait_s < 0:
            raise ValueError("need max_batch >= 1, max_in_flight >= 1 and max_wait_s >= 0")
        self.run_batch = run_batch
        self.executor = executor
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_in_flight = max_in_flight
        self.batch_sizes: list[int] = []  # every batch run so far (tests, metrics); bounded below
        self._queue: list[_Pending[In, Out]] = []
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, item: In) -> Out:
        """The output of run_batch for item, computed in a batch with whatever else is queued."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(item, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        """Start a batch now (idle, or a full batch queued) or within max_wait_s (batches already running)."""
        if self._in_flight >= self.max_in_flight or not self._queue:
            return  # a running batch takes the queue when it ends
        if self._in_flight == 0 or len(self._queue) >= self.max_batch or self.max_wait_s == 0:
            self._start_batch()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._in_flight < self.max_in_flight and self._queue:
            self._start_batch()

    def _start_batch(self) -> None:
        """Take up to max_batch queued requests (skipping cancelled ones) and run them in the executor."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = [pending for pending in self._queue[: self.max_batch] if not pending.future.done()]
        del self._queue[: self.max_batch]
        if not batch:
            self._schedule()
            return
        self._in_flight += 1
        self.batch_sizes = [*self.batch_sizes[-999:], len(batch)]
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(self.executor, self.run_batch, [pending.item for pending in batch])
        task.add_done_callback(lambda done: self._finish(batch, done))

    def _finish(self, batch: list[_Pending[In, Out]], done: "asyncio.Future[Sequence[Out]]") -> None:
        """Hand each caller its output (or the batch's error), then start the next batch."""
        self._in_flight -= 1
        error: BaseException | None = asyncio.CancelledError() if done.cancelled() else done.exception()
        outputs = done.result() if error is None else []
        if error is None and len(outputs) != len(batch):
            error = RuntimeError(f"run_batch returned {len(outputs)} outputs for {len(batch)} inputs")
        for index, pending in enumerate(batch):
            if pending.future.done():  # the caller went away (cancelled)
                continue
            if error is not None:
                pending.future.set_exception(error)
            else:
                pending.future.set_result(outputs[index])
        if self._queue and self._in_flight < self.max_in_flight:
            self._start_batch()
