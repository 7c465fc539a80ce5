"""Bounded work pools: a fixed number of threads and a bounded queue; when both are full, the request is shed."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from prometheus_client import Counter

from api.errors import Overloaded

P = ParamSpec("P")
T = TypeVar("T")


class BoundedPool:
    """`workers` threads and room for `queue` waiting calls; a call beyond that raises Overloaded (503)."""

    def __init__(self, name: str, workers: int, queue: int, retry_after_s: int, shed: Counter) -> None:
        self.name = name
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self.shed = shed
        self._admitted = 0
        self._lock = threading.Lock()

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """The result of call, run in the pool; Overloaded at once when the pool and its queue are full."""
        self._admit()
        future: Future[T] = self.executor.submit(call, *args, **kwargs)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.capacity:
                self.shed.inc()
                raise Overloaded(f"the {self.name} pool is full: retry shortly", self.retry_after_s)
            self._admitted += 1

    def _release(self, _: object) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
