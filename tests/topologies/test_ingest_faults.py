"""A fault in the middle of a steady stream loses nothing and duplicates nothing.

While photos are published at a steady rate, Solr or Milvus is frozen for 20 s (SIGSTOP of its process group:
connections hang, as with a stalled or partitioned server), or the Kafka broker is stopped and started again.
Afterwards every photo is searchable exactly once, neither store holds an orphan, and each of the bad records sent
among them (no value, broken JSON, no image) is dead-lettered once.
(A killed worker is tested in test_ingest_restart.py and, across processes, test_ingest_cluster.py.)
"""

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from devstack.launcher import Stack
from devstack.process import PidFile, stop, stop_session
from embedder import Embedder
from indexer.reconcile import find_orphans
from tests.ingest.kafka_helpers import read_topic
from tests.topologies.ingest_fixtures import inline_catalog
from tests.topologies.running_topology import empty_stores, publish, searchable_count, topology_settings, wait_for
from topologies.ingest.runner import start_ingest_topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 90
RATE_PER_S = 3.0  # 30 s of stream: the 20 s outage falls in its middle
OUTAGE_S = 20.0
WARM_UP = 3  # photos published (and searchable) before the steady stream


def _bad_records(template: bytes) -> list[tuple[bytes, bytes | None]]:
    """Records that must each end in the dead-letter topic, marked by their key: no value, broken JSON, no image."""
    no_image = json.loads(template) | {"product_id": "fault-bad-image", "image_b64": "bm8gaW1hZ2U="}
    return [
        (b"fault-bad-null", None),
        (b"fault-bad-json", b'{"schema_version": 1, "op": "upsert", "product_id": "fault-bad-json"'),
        (b"fault-bad-image", json.dumps(no_image).encode()),
    ]


def _send_until_acknowledged(producer: KafkaProducer, topic: str, key: bytes, value: bytes | None) -> None:
    """What a careful crawler does: send, and while the broker is away, wait and send again (at least once)."""
    while True:
        try:
            producer.send(topic, key=key, value=value).get(timeout=10)
            return
        except KafkaError:
            time.sleep(1)


def _stream_through(
    fault: Callable[[], None], what: str, stack: Stack, solr_core_url: str, checkpoint: Path, tmp_path: Path
) -> None:
    """Publish PHOTOS at a steady rate, cause the fault once the stream flows, and check that afterwards every photo
    is searchable exactly once, neither store holds an orphan, and each bad record among them is dead-lettered once."""
    settings = topology_settings(
        stack, solr_core_url, checkpoint, tmp_path / "metrics", embed_batch_size=4, index_batch_size=4, max_replays=3
    )
    index = empty_stores(settings, Embedder.load(checkpoint).dim)
    catalog = inline_catalog(PHOTOS, every=3)
    bad = _bad_records(catalog.messages[0][1] or b"")
    stream = catalog.messages[WARM_UP:]
    for n, bad_record in enumerate(bad):  # spread over the stream, before, during and after the fault
        stream.insert((n + 1) * len(stream) // (len(bad) + 1), bad_record)
    record, log = start_ingest_topology(stack.settings, settings, duration_s=400, partitions=2)
    producer = KafkaProducer(bootstrap_servers=settings.stores.kafka_bootstrap_servers, reconnect_backoff_max_ms=2000)

    def steady_stream() -> None:
        for key, value in stream:
            _send_until_acknowledged(producer, settings.stores.topic, key, value)
            time.sleep(1 / RATE_PER_S)

    publisher = threading.Thread(target=steady_stream)
    started = time.monotonic()
    try:
        publish(settings.stores.kafka_bootstrap_servers, settings.stores.topic, catalog.messages[:WARM_UP])
        wait_for(lambda: searchable_count(index) >= WARM_UP, record, log, timeout_s=120, poll_s=0.25)
        publisher.start()  # the steady stream starts once the topology indexes
        time.sleep(3)
        before_fault = searchable_count(index)
        fault()
        over = time.monotonic()
        publisher.join()
        wait_for(lambda: searchable_count(index) >= PHOTOS, record, log, timeout_s=120, poll_s=0.5)
        recovered_s = time.monotonic() - over
        time.sleep(3)  # replays still in flight must not add anything
    finally:
        publisher.join()
        producer.close()
        stop(record, timeout_s=30)

    assert before_fault < PHOTOS / 2, f"the fault came too late: {before_fault} of {PHOTOS} already searchable"
    index.vectors.flush()
    assert searchable_count(index) == index.vectors.count() == PHOTOS
    assert set(index.get(list(catalog.good_ids))) == set(catalog.good_ids)
    assert find_orphans(index).count == 0
    stores = settings.stores
    letters = [json.loads(r.value) for r in read_topic(stores.kafka_bootstrap_servers, stores.dead_letter_topic, 99, 3)]
    named = [next(key.decode() for key, _ in bad if key.decode() in ltr["message"] + ltr["reason"]) for ltr in letters]
    assert sorted(set(named)) == sorted(key.decode() for key, _ in bad), letters  # each bad record, nothing else
    assert len({ltr["source"] for ltr in letters}) == len(letters), letters  # no Kafka record dead-lettered twice
    summary = (
        f"{PHOTOS} published with {len(bad)} bad records, {searchable_count(index)} searchable, 0 duplicates, "
        f"0 orphans, {len(letters)} dead letters (one per bad record sent)"
    )
    timing = f"all searchable {recovered_s:.1f} s after it ended ({time.monotonic() - started:.0f} s in all)"
    print(f"\n{what} with {before_fault} searchable: {summary}; {timing}")


@pytest.mark.parametrize("store", ["solr", "milvus"])
def test_a_store_outage_mid_stream_loses_nothing(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, tmp_path: Path, store: str
) -> None:
    pid = PidFile(stack.settings.run_dir, store).read()
    assert pid is not None

    def freeze() -> None:
        os.killpg(pid.pid, signal.SIGSTOP)
        try:
            time.sleep(OUTAGE_S)
        finally:
            os.killpg(pid.pid, signal.SIGCONT)

    _stream_through(freeze, f"{store} frozen {OUTAGE_S:.0f} s", stack, solr_core_url, tiny_checkpoint, tmp_path)


def test_a_kafka_broker_restart_mid_stream_loses_nothing(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    kafka = PidFile(stack.settings.run_dir, "kafka")
    took: list[float] = []

    def restart_broker() -> None:
        broker = kafka.read()
        assert broker is not None
        stopping = time.monotonic()
        try:
            stop_session(broker, timeout_s=30)  # a clean broker shutdown, as in a rolling restart
            kafka.remove()
        finally:
            stack.up()  # the broker again, on the same data (and the other tests get theirs, whatever happened)
        took.append(time.monotonic() - stopping)

    _stream_through(restart_broker, "Kafka broker restarted", stack, solr_core_url, tiny_checkpoint, tmp_path)
    print(f"(stopped and back in {took[0]:.0f} s)")
