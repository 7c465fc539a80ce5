"""The hostile corpus (tests/ingest/hostile_corpus.py) through the real topology, between good photos: the stream
never stops, every odd-but-valid record is searchable, every other one is dead-lettered exactly once, at the
stage expected, and the good photos published after the corpus are indexed too."""

import json
import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from devstack.launcher import Stack
from devstack.process import stop
from embedder import Embedder
from embedder.data.image_folder import folder_photos
from indexer.catalog_index import CatalogIndex
from indexer.metadata_store import solr_phrase
from ingest.folder_catalog import demo_message
from settings import Settings
from tests.ingest.hostile_corpus import INDEXED, hostile_corpus
from tests.ingest.kafka_helpers import CLOTHING_SMALL, read_topic
from tests.topologies.ingest_fixtures import image_server, inline_catalog
from tests.topologies.running_topology import empty_stores, searchable_count, topology_settings, wait_for
from topologies.ingest.runner import start_ingest_topology

__all__ = ["image_server"]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GOOD_PHOTOS = 20


def publish_recording_sources(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> list[str]:
    """Send (key, value) records one by one; the `topic/partition/offset` of each (a dead letter's source)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=2**20)
    try:
        sent = [producer.send(topic, key=key, value=value).get(timeout=30) for key, value in records]
    finally:
        producer.close()
    return [f"{meta.topic}/{meta.partition}/{meta.offset}" for meta in sent]


def product_ids_in_solr(index: CatalogIndex, product_ids: list[str]) -> set[str]:
    """Which of these products Solr holds."""
    query = " OR ".join(f"product_id:{solr_phrase(p)}" for p in product_ids)
    found = index.metadata.solr.search(query, fl="product_id", rows=10 * len(product_ids))
    return {document["product_id"] for document in found}


def _dead_letters(settings: Settings, count: int) -> list[dict[str, str]]:
    return [
        json.loads(r.value)
        for r in read_topic(settings.stores.kafka_bootstrap_servers, settings.stores.dead_letter_topic, count, 1)
    ]


def test_no_hostile_record_stops_the_stream(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, image_server: tuple[str, Path], tmp_path: Path
) -> None:
    settings = topology_settings(stack, solr_core_url, tiny_checkpoint, tmp_path / "metrics")
    index = empty_stores(settings, Embedder.load(tiny_checkpoint).dim)
    good = inline_catalog(GOOD_PHOTOS, every=3)
    root = Path(CLOTHING_SMALL) / "test"
    spare_photos = (path.read_bytes() for path in folder_photos(root)[1::3])  # none of the good ones
    corpus = hostile_corpus(demo_message(folder_photos(root)[0], root, inline=True), image_server[0], spare_photos)
    half = GOOD_PHOTOS // 2
    records = [*good.messages[:half], *[(r.key, r.value) for r in corpus], *good.messages[half:]]
    dead = [r for r in corpus if r.expected != INDEXED]
    indexed = [json.loads(r.value or b"")["product_id"] for r in corpus if r.expected == INDEXED]

    record, log = start_ingest_topology(stack.settings, settings, duration_s=400, partitions=2)
    started = time.monotonic()
    try:
        sources = publish_recording_sources(settings.stores.kafka_bootstrap_servers, settings.stores.topic, records)
        wait_for(
            lambda: searchable_count(index) >= GOOD_PHOTOS + len(indexed) and len(_dead_letters(settings, len(dead)))
            >= len(dead),
            record, log, timeout_s=240,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        time.sleep(3)  # nothing more may arrive: no duplicate, no late dead letter
        letters = _dead_letters(settings, len(dead) + 1)
        assert record.is_alive(), f"LocalCluster exited; see {log}"
    finally:
        stop(record, timeout_s=30)

    assert searchable_count(index) == GOOD_PHOTOS + len(indexed)
    assert set(index.get(list(good.good_ids))) == set(good.good_ids)
    assert product_ids_in_solr(index, indexed) == set(indexed)
    source_of = dict(zip([r.marker for r in corpus], sources[half : half + len(corpus)], strict=True))
    letters_of = {r.marker: [ltr for ltr in letters if ltr["source"] == source_of[r.marker]] for r in dead}
    wrong = {
        r.marker: [(ltr["stage"], ltr["reason"][:120]) for ltr in letters_of[r.marker]]
        for r in dead
        if [ltr["stage"] for ltr in letters_of[r.marker]] != [r.expected]
    }
    assert not wrong, wrong  # each dead-lettered once, at its stage
    assert len(letters) == len(dead), [ltr["source"] for ltr in letters]
    print(
        f"\n{len(corpus)} hostile records between {GOOD_PHOTOS} good photos: {len(indexed)} odd-but-valid indexed, "
        f"{len(dead)} dead-lettered once each, all {GOOD_PHOTOS} good indexed, in {elapsed:.0f} s"
    )
