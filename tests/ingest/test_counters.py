from pathlib import Path

from ingest.counters import StageCounters, read_counts


def test_counters_are_written_and_summed(tmp_path: Path) -> None:
    for task in (1, 2):
        counters = StageCounters("index_bolt", task)
        counters.add("indexed", 10 * task)
        counters.observe("index", 0.5, count=10)
        counters.write(tmp_path)
    assert read_counts(tmp_path) == {"indexed": 30}
    snapshot = StageCounters("x", 0).snapshot()
    assert snapshot == {"component": "x", "task": 0, "counts": {}, "latency": {}}


def test_latency_is_per_item() -> None:
    counters = StageCounters("embed_bolt", 3)
    counters.observe("embed", 0.2, count=4)
    assert counters.snapshot()["latency"]["embed"] == {"items": 4, "mean_ms": 50.0, "max_ms": 200.0}
