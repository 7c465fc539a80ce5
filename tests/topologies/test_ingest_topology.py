"""The ingest topology end to end on real Kafka, Storm (LocalCluster), Milvus and Solr."""

import json
import time
from pathlib import Path

import numpy as np
import pytest

from devstack.launcher import Stack
from devstack.process import stop
from embedder import Embedder
from embedder.rerank import grey_thumbnail, thumbnail_from_text
from indexer.catalog_index import CatalogIndex
from ingest.counters import read_counts
from settings import Settings
from tests.ingest.kafka_helpers import read_topic
from tests.topologies.ingest_fixtures import PublishedCatalog, build_catalog, image_server
from tests.topologies.running_topology import (
    add_partition_and_publish,
    empty_stores,
    publish,
    publish_with_java,
    topology_settings,
    wait_for,
)
from topologies.ingest.runner import start_ingest_topology

__all__ = ["image_server"]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 300
DUPLICATES = 20


def _done(index: CatalogIndex, catalog: PublishedCatalog, settings: Settings, dead: list[object]) -> bool:
    index.metadata.refresh()
    dead[:] = read_topic(
        settings.stores.kafka_bootstrap_servers, settings.stores.dead_letter_topic, len(catalog.bad), timeout_s=1
    )
    return index.metadata.count() == len(catalog.good_ids) and len(dead) >= len(catalog.bad)


def test_every_good_photo_indexed_once_and_every_bad_record_dead_lettered(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, image_server: tuple[str, Path], tmp_path: Path
) -> None:
    settings = topology_settings(stack, solr_core_url, tiny_checkpoint, tmp_path / "metrics")
    embedder = Embedder.load(tiny_checkpoint)
    index = empty_stores(settings, embedder.dim)
    catalog = build_catalog(PHOTOS, DUPLICATES, *image_server)
    started = time.monotonic()
    upserts = [message for message in catalog.messages if message[0].startswith(b"demo-")]
    late, java = upserts[200:205], upserts[205:213]
    record, log = start_ingest_topology(stack.settings, settings, duration_s=600, partitions=2)
    try:
        publish(
            settings.stores.kafka_bootstrap_servers,
            settings.stores.topic,
            [m for m in catalog.messages if m not in late + java],
        )
        # a crawler on the Java client compresses its batches with any of Kafka's codecs
        codecs = ["snappy", "lz4", "zstd", "gzip"] * 2
        publish_with_java(
            stack.settings, settings.stores.topic, [(c, k, v or b"") for c, (k, v) in zip(codecs, java, strict=True)]
        )
        # a partition added while the topology runs is read without resubmitting it
        assert add_partition_and_publish(settings.stores.kafka_bootstrap_servers, settings.stores.topic, late) == 2
        dead: list[object] = []
        wait_for(lambda: _done(index, catalog, settings, dead), record, log, timeout_s=240)
        elapsed = time.monotonic() - started
        time.sleep(2)  # nothing more may arrive: no duplicate, no late dead letter
        _done(index, catalog, settings, dead)
    finally:
        stop(record, timeout_s=30)

    index.vectors.flush()
    assert index.metadata.count() == index.vectors.count() == len(catalog.good_ids)
    stored = index.get(list(catalog.good_ids))
    assert set(stored) == set(catalog.good_ids)
    assert all(
        np.array_equal(thumbnail_from_text(str(stored[item_id].thumbnail)), grey_thumbnail(photo))
        for item_id, photo in catalog.good_ids.items()
    )  # each item carries its photo's thumbnail, for the search's re-ranker
    vectors = embedder.embed(list(catalog.good_ids.values()))
    for item_id, hits in zip(catalog.good_ids, index.vectors.search_batch(vectors, k=5), strict=True):
        assert item_id in [hit.id for hit in hits]

    letters = [json.loads(r.value) for r in dead]  # type: ignore[attr-defined]
    # a record without a value is named by its key, in the reason
    by_marker = {m: [ltr for ltr in letters if m in ltr["message"] or m in ltr["reason"]] for m in catalog.bad}
    assert len(letters) == len(catalog.bad), letters
    for marker, stage in catalog.bad.items():
        assert [ltr["stage"] for ltr in by_marker[marker]] == [stage], (marker, by_marker[marker])
        assert by_marker[marker][0]["reason"]

    counts = read_counts(tmp_path / "metrics")
    assert counts["dead_lettered"] == len(catalog.bad)
    refused_by_the_spout = sum(1 for stage in catalog.bad.values() if stage == "spout")  # e.g. a null value
    assert counts["processed"] >= len(catalog.messages) - refused_by_the_spout
    print(f"\n{len(catalog.messages)} messages through the topology in {elapsed:.1f} s; counters {dict(counts)}")
