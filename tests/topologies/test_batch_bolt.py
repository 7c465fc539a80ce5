"""The batch bolt's flush rules, without Storm: full batches, a bounded wait for partial ones, ticks."""

import io

from streamparse import Tuple

from settings import IngestSettings, Settings
from topologies.ingest.batch_bolt import BatchBolt


class RecordingBolt(BatchBolt):
    """Keeps the batches it is given instead of processing them."""

    def process_batch(self, batch: list[Tuple]) -> None:
        self.batches.append([tup.values[0] for tup in batch])


def bolt(batch_size: int, max_wait_ms: int) -> tuple[RecordingBolt, list[float]]:
    now = [0.0]
    recording = RecordingBolt(input_stream=io.BytesIO(), output_stream=io.BytesIO())
    recording.initialize({}, {})
    recording.settings = Settings(ingest=IngestSettings(batch_max_wait_ms=max_wait_ms))
    recording.batch_size = batch_size
    recording.clock = lambda: now[0]  # type: ignore[method-assign]
    recording.batches = []  # type: ignore[attr-defined]
    return recording, now


def tup(value: int) -> Tuple:
    return Tuple(id=str(value), component="c", stream="default", task=1, values=[value])


def test_a_full_batch_is_handled_at_once() -> None:
    recording, _ = bolt(batch_size=3, max_wait_ms=10_000)
    for value in range(7):
        recording.process(tup(value))
    assert recording.batches == [[0, 1, 2], [3, 4, 5]]  # type: ignore[attr-defined]


def test_a_partial_batch_waits_at_most_batch_max_wait_ms_on_a_steady_stream() -> None:
    """Before the bounded wait, a partial batch waited for the next tick (a second) at each batching stage."""
    recording, now = bolt(batch_size=100, max_wait_ms=200)
    for value, at in enumerate([0.0, 0.05, 0.15, 0.2, 0.21, 0.3, 0.45]):
        now[0] = at
        recording.process(tup(value))
    assert recording.batches == [[0, 1, 2, 3], [4, 5, 6]]  # type: ignore[attr-defined]
    now[0] = 0.5
    recording.process(tup(7))  # the wait starts again with the first tuple of a batch
    assert recording.batches == [[0, 1, 2, 3], [4, 5, 6]]  # type: ignore[attr-defined]


def test_a_tick_flushes_what_a_quiet_stream_left() -> None:
    recording, _ = bolt(batch_size=100, max_wait_ms=200)
    recording.process(tup(1))
    recording.flush()  # what process_tick does, besides reporting counters
    recording.flush()
    assert recording.batches == [[1]]  # type: ignore[attr-defined]
