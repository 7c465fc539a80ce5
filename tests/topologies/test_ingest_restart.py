"""A topology crash in the middle of the stream loses nothing and indexes nothing twice (real Kafka, Storm, stores).

The LocalCluster JVM is killed (SIGKILL, by its PID) once some but not all photos are indexed. Offsets are
committed only for fully acked messages, so the restarted topology resumes from the last commit and replays what
was in flight; ids come from the photo bytes and writes are upserts, so a replayed photo overwrites itself.
"""

import http.server
import json
import queue
import threading
import time
from pathlib import Path

import pytest

from devstack.launcher import Stack
from devstack.process import ProcessRecord, stop
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from ingest.counters import read_counts
from tests.ingest.kafka_helpers import read_topic
from tests.topologies.ingest_fixtures import inline_catalog
from tests.topologies.running_topology import (
    crash,
    empty_stores,
    publish,
    searchable_count,
    topology_settings,
    wait_for,
)
from topologies.ingest.runner import start_ingest_topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 70
POISONED_PHOTOS = 10
# One photo per write and two tuples in flight: the stream takes seconds instead of a burst, so the crash comes
# when some photos are indexed and others not (they must not be lost); commits every 0.5 s still leave the last
# indexed photos uncommitted (they are replayed, and must not be indexed twice).
SLOW_STREAM = {"embed_batch_size": 1, "index_batch_size": 1, "max_spout_pending": 2, "commit_interval_s": 0.5}


def _kill_mid_stream(index: CatalogIndex, record: ProcessRecord, log: Path, total: int) -> int:
    """Wait until some photos are searchable, crash the topology, and return how many were indexed before."""
    wait_for(lambda: searchable_count(index) >= total // 5, record, log, timeout_s=90, poll_s=0.25)
    crash(record)
    indexed = searchable_count(index)
    assert 0 < indexed < total, f"the crash came too late: {indexed} of {total} already indexed"
    return indexed


def test_a_crash_mid_stream_loses_nothing_and_indexes_nothing_twice(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    settings = topology_settings(stack, solr_core_url, tiny_checkpoint, tmp_path / "metrics-1", **SLOW_STREAM)
    index = empty_stores(settings, Embedder.load(tiny_checkpoint).dim)
    catalog = inline_catalog(PHOTOS)
    assert len(catalog.good_ids) == PHOTOS
    publish(settings.stores.kafka_bootstrap_servers, settings.stores.topic, catalog.messages)

    record, log = start_ingest_topology(stack.settings, settings, duration_s=300, partitions=2)
    try:
        before_crash = _kill_mid_stream(index, record, log, PHOTOS)
    finally:
        stop(record, timeout_s=10)

    restarted = settings.changed(ingest={"metrics_dir": tmp_path / "metrics-2"})
    record, log = start_ingest_topology(stack.settings, restarted, duration_s=300, partitions=2)
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


class _PoisonHandler(http.server.BaseHTTPRequestHandler):
    """Hangs on every request, after telling the test that a request came (the test then kills the topology)."""

    requests: "queue.Queue[str]"

    def do_GET(self) -> None:  # noqa: N802
        self.requests.put(self.path)
        time.sleep(30)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _poison_server() -> tuple[http.server.ThreadingHTTPServer, "queue.Queue[str]"]:
    """A loopback HTTP server whose requests are the poison: the test kills the worker fetching from it."""
    requests: queue.Queue[str] = queue.Queue()
    handler = type("Handler", (_PoisonHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


def test_a_message_that_kills_its_worker_at_every_restart_is_dead_lettered_and_the_stream_flows_on(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    settings = topology_settings(stack, solr_core_url, tiny_checkpoint, tmp_path / "metrics", max_replays=1)
    index = empty_stores(settings, Embedder.load(tiny_checkpoint).dim)
    catalog = inline_catalog(POISONED_PHOTOS)
    server, requests = _poison_server()
    template = json.loads(catalog.messages[0][1] or b"")
    url = f"http://127.0.0.1:{server.server_address[1]}/poison.jpg"
    poison = json.dumps(template | {"product_id": "poison", "image_url": url, "image_b64": None}).encode()
    half = POISONED_PHOTOS // 2
    stores = settings.stores
    publish(stores.kafka_bootstrap_servers, stores.topic, [*catalog.messages[:half], (b"poison", poison),
                                                           *catalog.messages[half:]])  # fmt: skip
    try:
        for _ in range(settings.ingest.max_replays + 1):  # the poison kills the worker at every attempt
            record, log = start_ingest_topology(stack.settings, settings, duration_s=300)
            try:
                requests.get(timeout=120)
                crash(record)
            finally:
                stop(record, timeout_s=10)
            while not requests.empty():
                requests.get()
        record, log = start_ingest_topology(stack.settings, settings, duration_s=300)
        try:
            wait_for(lambda: searchable_count(index) >= POISONED_PHOTOS, record, log, timeout_s=120)
            time.sleep(3)  # nothing more may arrive
            letters = read_topic(
                settings.stores.kafka_bootstrap_servers, settings.stores.dead_letter_topic, 2, timeout_s=3
            )
        finally:
            stop(record, timeout_s=30)
    finally:
        server.shutdown()
    assert searchable_count(index) == POISONED_PHOTOS and requests.empty()
    assert [(json.loads(ltr.value)["stage"], b"poison" in ltr.value) for ltr in letters] == [("spout", True)]
    print(
        f"\npoison dead-lettered after {settings.ingest.max_replays + 1} crashes: "
        f"{json.loads(letters[0].value)['reason']}"
    )
