"""A topology crash in the middle of the stream loses nothing and indexes nothing twice (real Kafka, Storm, stores).

The LocalCluster JVM is killed (SIGKILL, by its PID) once some but not all photos are indexed. Offsets are
committed only for fully acked messages, so the restarted topology resumes from the last commit and replays what
was in flight; ids come from the photo bytes and writes are upserts, so a replayed photo overwrites itself.
"""

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from cbir.ingest_topology import start_ingest_topology
from cbir.stack.launcher import Stack
from cbir.stack.process import ProcessRecord, stop
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from ingest.counters import read_counts
from tests.topologies.ingest_fixtures import inline_catalog
from tests.topologies.running_topology import empty_stores, publish, searchable_count, topology_settings, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 70
# One photo per write and two tuples in flight: the stream takes seconds instead of a burst, so the crash comes
# when some photos are indexed and others not (they must not be lost); commits every 0.5 s still leave the last
# indexed photos uncommitted (they are replayed, and must not be indexed twice).
SLOW_STREAM = {"embed_batch_size": 1, "index_batch_size": 1, "max_spout_pending": 2, "commit_interval_s": 0.5}


def _children(pid: int) -> list[int]:
    """PIDs of the direct children of pid (the topology's Python components)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a JVM thread that exited meanwhile (its children move on)
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _crash(record: ProcessRecord, timeout_s: float = 30.0) -> None:
    """SIGKILL the LocalCluster JVM; its Python components exit when their pipes close (killed if they do not)."""
    components = _children(record.pid)
    os.kill(record.pid, signal.SIGKILL)
    os.waitpid(record.pid, 0)
    deadline = time.monotonic() + timeout_s
    while (alive := [pid for pid in components if Path(f"/proc/{pid}").exists()]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)


def _kill_mid_stream(index: CatalogIndex, record: ProcessRecord, log: Path, total: int) -> int:
    """Wait until some photos are searchable, crash the topology, and return how many were indexed before."""
    wait_for(lambda: searchable_count(index) >= total // 5, record, log, timeout_s=90, poll_s=0.25)
    _crash(record)
    indexed = searchable_count(index)
    assert 0 < indexed < total, f"the crash came too late: {indexed} of {total} already indexed"
    return indexed


def test_a_crash_mid_stream_loses_nothing_and_indexes_nothing_twice(
    stack: Stack, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    ingest, indexer = topology_settings(stack, tiny_checkpoint, tmp_path / "metrics-1", **SLOW_STREAM)
    index = empty_stores(indexer, Embedder.load(tiny_checkpoint).dim)
    catalog = inline_catalog(PHOTOS)
    assert len(catalog.good_ids) == PHOTOS
    publish(ingest.bootstrap_servers, ingest.topic, catalog.messages)

    record, log = start_ingest_topology(stack.settings, ingest, indexer, duration_s=300, partitions=2)
    try:
        before_crash = _kill_mid_stream(index, record, log, PHOTOS)
    finally:
        stop(record, timeout_s=10)

    restarted = ingest.model_copy(update={"metrics_dir": tmp_path / "metrics-2"})
    record, log = start_ingest_topology(stack.settings, restarted, indexer, duration_s=300, partitions=2)
    try:
        wait_for(lambda: searchable_count(index) >= PHOTOS, record, log, timeout_s=90, poll_s=0.5)
        time.sleep(3)  # replays still in flight must not add anything
    finally:
        stop(record, timeout_s=30)

    index.vectors.flush()
    assert searchable_count(index) == index.vectors.count() == PHOTOS
    assert set(index.get(list(catalog.good_ids))) == set(catalog.good_ids)
    assert set(index.vectors.get_vectors(list(catalog.good_ids))) == set(catalog.good_ids)
    first, second = read_counts(tmp_path / "metrics-1"), read_counts(tmp_path / "metrics-2")
    assert second["emitted"] < len(catalog.messages), "the restart re-read the topic from the start"
    print(f"\n{before_crash}/{PHOTOS} indexed at the crash; counters before {dict(first)}, after {dict(second)}")
