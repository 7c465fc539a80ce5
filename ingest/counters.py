"""Counters an operator can read: per component, logged periodically and written as JSON files."""

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any


class StageCounters:
    """Event counts (processed, indexed, dead_lettered, retried, ...) and per-stage latency of one task."""

    def __init__(self, component: str, task: int, interval_s: float = 5.0) -> None:
        self.component = component
        self.task = task
        self.interval_s = interval_s
        self.counts: Counter[str] = Counter()
        self.latency_s: dict[str, float] = {}
        self.latency_n: Counter[str] = Counter()
        self.latency_max_s: dict[str, float] = {}
        self._last_report = time.monotonic()

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] += count

    def observe(self, stage: str, seconds: float, count: int = 1) -> None:
        """count items took seconds in stage (a batch counts once per item for the mean)."""
        self.latency_s[stage] = self.latency_s.get(stage, 0.0) + seconds
        self.latency_n[stage] += count
        self.latency_max_s[stage] = max(self.latency_max_s.get(stage, 0.0), seconds)

    def snapshot(self) -> dict[str, Any]:
        """Counts and latencies as plain JSON-ready data."""
        latency = {
            stage: {
                "items": self.latency_n[stage],
                "mean_ms": round(1000 * self.latency_s[stage] / max(self.latency_n[stage], 1), 3),
                "max_ms": round(1000 * self.latency_max_s[stage], 3),
            }
            for stage in self.latency_n
        }
        return {"component": self.component, "task": self.task, "counts": dict(self.counts), "latency": latency}

    def due(self) -> bool:
        """Whether a report is due (and start a new interval if so)."""
        now = time.monotonic()
        if now - self._last_report < self.interval_s:
            return False
        self._last_report = now
        return True

    def write(self, folder: Path) -> Path:
        """Write the snapshot to folder/<component>-<task>.json atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.component}-{self.task}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.snapshot(), sort_keys=True))
        os.replace(temporary, path)
        return path


def read_counts(folder: Path) -> Counter[str]:
    """The counts of every task's file in folder, summed."""
    total: Counter[str] = Counter()
    for path in folder.glob("*.json"):
        total.update(json.loads(path.read_text())["counts"])
    return total
