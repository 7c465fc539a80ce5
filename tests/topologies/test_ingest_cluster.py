"""The ingest topology on a real multi-process Storm cluster (ZooKeeper, Nimbus, two Supervisors) and a 3-broker
Kafka: a worker JVM is SIGKILLed mid-stream, its supervisor starts it again, and every photo is indexed once.

The catalog is published at a steady pace from a thread, so the kill lands while photos are still arriving.
Tuples whose tree passed through the dead worker time out and are replayed by their spout; a spout that died
resumes from its partitions' committed offsets. Ids come from the photo bytes and writes are upserts, so replays
overwrite; the dead-letter topic is at-least-once (a bad record replayed after the kill may be dead-lettered twice).
"""

import base64
import contextlib
import json
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from cbir.ingest_cli import topology_app
from devstack.launcher import Stack
from devstack.process import PidFile, port_is_free, session_members
from devstack.settings import LOOPBACK, StackSettings
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from ingest.counters import read_counts
from tests.ingest.kafka_helpers import read_topic
from tests.integration_fixtures import free_ports
from tests.topologies.ingest_fixtures import PublishedCatalog, inline_catalog
from tests.topologies.running_topology import empty_stores, searchable_count, topology_settings
from topologies.ingest.runner import submit_ingest_topology
from topologies.storm.nimbus import TopologyNotFound, cluster_summary, kill_topology
from topologies.storm.submit import Parallelism

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 120
PARTITIONS = 4
PUBLISH_PER_S = 4.0  # 120 photos over ~30 s
# Small batches and few tuples in flight keep the stream steady; a short message timeout makes the tuples lost
# with the killed worker come back in seconds instead of a minute.
STREAM = {
    "embed_batch_size": 4, "index_batch_size": 4, "max_spout_pending": 8,
    "commit_interval_s": 0.5, "message_timeout_s": 20, "max_replays": 5,
}  # fmt: skip


WORKER_MAIN = "org.apache.storm.daemon.worker.Worker"
LOG_WRITER_MAIN = "org.apache.storm.LogWriter"  # the worker's parent: it pipes the worker's output to its log


def worker_pids(settings: StackSettings, supervisor: int) -> list[int]:
    """PIDs of the worker JVMs a supervisor started (its session's processes running the Worker main; the
    LogWriter that launches each has the worker's command line in its own, so it is left out)."""
    record = PidFile(settings.run_dir, f"supervisor-{supervisor + 1}").read()
    if record is None:
        return []
    pids = []
    for pid in session_members(record.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if WORKER_MAIN.encode() in argv and LOG_WRITER_MAIN.encode() not in argv:
            pids.append(pid)
    return pids


def _free_port_run(count: int) -> int:
    """The first of count consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000 - count)
        if all(port_is_free(LOOPBACK, port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """ZooKeeper, Nimbus, two Supervisors, three Kafka nodes, Solr and Milvus on free ports; stopped after."""
    kafka, controller, solr, milvus = free_ports(4)
    settings = StackSettings(
        run_dir=tmp_path_factory.mktemp("cluster-run"), cluster=True, cluster_base_port=_free_port_run(14),
        kafka_port=kafka, kafka_controller_port=controller, solr_port=solr, milvus_port=milvus,
    )  # fmt: skip
    running = Stack(settings)
    started = time.monotonic()
    try:
        running.up()
        print(f"\ncluster stack healthy in {time.monotonic() - started:.1f} s")
        yield running
    finally:
        running.down()


def test_every_daemon_is_healthy_and_nimbus_sees_both_supervisors(cluster: Stack) -> None:
    statuses = cluster.status()
    assert all(s.running and s.healthy for s in statuses), statuses
    assert all(LOOPBACK in s.address for s in statuses)
    state = cluster_summary(LOOPBACK, cluster.settings.cluster_ports.nimbus)
    assert [slots for _, slots, _ in state.supervisors] == [2, 2]
    listed = CliRunner().invoke(topology_app, ["list", "--run-dir", str(cluster.settings.run_dir)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("supervisor 127.0.0.1") == 2


def _with_bad_records(catalog: PublishedCatalog) -> dict[str, str]:
    """Add records that must be dead-lettered (marker -> stage) to the catalog's messages."""
    jpeg = next(iter(catalog.good_ids.values()))
    template = json.loads(catalog.messages[0][1])
    bad = {
        "bad-corrupt-jpeg": (base64.b64encode(jpeg[: len(jpeg) // 3]).decode(), "decode"),
        "bad-not-an-image": (base64.b64encode(b"hello, I am text").decode(), "decode"),
    }
    for marker, (image_b64, _) in bad.items():
        catalog.messages.append(
            (marker.encode(), json.dumps(template | {"product_id": marker, "image_b64": image_b64}).encode())
        )
    catalog.messages.append((b"bad-json", b'{"schema_version": 1, "op": "upsert", "product_id": "bad-json"'))
    return {marker: stage for marker, (_, stage) in bad.items()} | {"bad-json": "parse"}


def _publish_steadily(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> threading.Thread:
    """Publish the messages at PUBLISH_PER_S from a thread (started, returned to join)."""

    def run() -> None:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for key, value in messages:
            producer.send(topic, key=key, value=value)
            time.sleep(1 / PUBLISH_PER_S)
        producer.flush()
        producer.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1.0)


def _all_workers(stack: StackSettings) -> set[int]:
    return set(worker_pids(stack, 0) + worker_pids(stack, 1))


def _dead_lettered(bootstrap: str, topic: str, bad: dict[str, str], dead: list[object]) -> bool:
    """Whether every bad record is in the dead-letter topic (its records so far left in dead)."""
    dead[:] = read_topic(bootstrap, topic, 2 * len(bad), timeout_s=2)
    return all(any(marker.encode() in record.value for record in dead) for marker in bad)  # type: ignore[attr-defined]


def _kill_worker(cluster: Stack) -> int:
    """SIGKILL the worker JVM of supervisor-1 (its Python components are left to see their pipes close)."""
    workers = worker_pids(cluster.settings, 0)
    assert len(workers) == 1, f"supervisor-1 runs workers {workers}"
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


def test_a_killed_worker_loses_nothing_and_indexes_nothing_twice(
    cluster: Stack, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    stack = cluster.settings
    settings = topology_settings(
        cluster, cluster.settings.solr_core_url(), tiny_checkpoint, tmp_path / "metrics", **STREAM
    )
    index: CatalogIndex = empty_stores(settings, Embedder.load(tiny_checkpoint).dim)
    catalog = inline_catalog(PHOTOS, every=2)
    assert len(catalog.good_ids) == PHOTOS
    bad = _with_bad_records(catalog)
    random.Random(0).shuffle(catalog.messages)
    nimbus = (LOOPBACK, stack.cluster_ports.nimbus)

    started = time.monotonic()
    executors = submit_ingest_topology(stack, settings, nimbus, Parallelism(), PARTITIONS, replication=3)
    assert executors["kafka_spout"] == PARTITIONS
    _wait(lambda: all(worker_pids(stack, n) for n in range(2)), 120, "a worker on each supervisor")
    publisher = _publish_steadily(settings.stores.kafka_bootstrap_servers, settings.stores.topic, catalog.messages)
    try:
        _wait(lambda: searchable_count(index) >= PHOTOS // 5, 180, "the first photos indexed")
        killed = _kill_worker(cluster)
        at_kill = searchable_count(index)
        assert at_kill < PHOTOS, "the kill came too late"
        publisher.join(timeout=120)
        _wait(lambda: len(_all_workers(stack) - {killed}) == 2, 120, "Storm to start the killed worker again")
        _wait(lambda: searchable_count(index) >= PHOTOS, 180, "every photo indexed")
        dead: list[object] = []
        _wait(
            lambda: _dead_lettered(
                settings.stores.kafka_bootstrap_servers, settings.stores.dead_letter_topic, bad, dead
            ),
            60,
            "dead letters",
        )
        time.sleep(5)  # replays still in flight must not add anything
        elapsed = time.monotonic() - started
        topology = cluster_summary(*nimbus).topologies
    finally:
        with contextlib.suppress(TopologyNotFound):
            kill_topology(*nimbus, "ingest", wait_s=0)

    index.vectors.flush()
    assert searchable_count(index) == index.vectors.count() == PHOTOS
    assert set(index.get(list(catalog.good_ids))) == set(catalog.good_ids)
    assert set(index.vectors.get_vectors(list(catalog.good_ids))) == set(catalog.good_ids)
    letters = [json.loads(record.value) for record in dead]  # type: ignore[attr-defined]
    assert {marker for marker in bad for ltr in letters if marker in ltr["message"]} == set(bad)
    for letter in letters:
        marker = next(m for m in bad if m in letter["message"])
        assert letter["stage"] == bad[marker], letter
    assert [(t.name, t.workers) for t in topology] == [("ingest", 2)]
    counts = read_counts(tmp_path / "metrics")
    print(f"\n{at_kill}/{PHOTOS} indexed when worker {killed} was killed; all indexed {elapsed:.0f} s after submit;")
    print(f"counters {dict(counts)}")
