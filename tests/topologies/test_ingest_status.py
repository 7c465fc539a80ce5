"""What the running topology records: each product's status in images.status, and the scheduled reconciliation."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from devstack.launcher import Stack
from devstack.process import stop
from embedder import Embedder
from indexer.item import CatalogItem, item_id, photo_sha256
from ingest.message import SCHEMA_VERSION, DeleteMessage, UpsertMessage, encode_message
from ingest.metrics_export import RECONCILE_FILE
from ingest.status import ProductStatus
from ingest.status_reader import StatusReader
from tests.ingest.kafka_helpers import read_topic
from tests.topologies.ingest_fixtures import inline_catalog
from tests.topologies.running_topology import empty_stores, publish, topology_settings, wait_for
from topologies.ingest.runner import start_ingest_topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _orphan_counts(metrics: Path) -> dict[str, int] | None:
    path = metrics / RECONCILE_FILE
    return json.loads(path.read_text())["orphans"] if path.is_file() else None


def test_statuses_say_what_became_of_each_product_and_orphans_are_counted_on_schedule(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    metrics = tmp_path / "metrics"
    settings = topology_settings(
        stack, solr_core_url, tiny_checkpoint, metrics, reconcile_interval_s=2.0, reconcile_settle_s=1.0
    )  # fmt: skip
    embedder = Embedder.load(tiny_checkpoint)
    index = empty_stores(settings, embedder.dim)
    catalog = inline_catalog(3)
    first, second, third = (UpsertMessage.model_validate_json(value or b"") for _, value in catalog.messages)
    # product A: two photos of one crawl
    two_photos = second.model_copy(update={"product_id": first.product_id, "crawled_at": first.crawled_at})
    bad = third.model_copy(update={"product_id": "status-bad", "image_b64": base64.b64encode(b"no image").decode()})
    delete = DeleteMessage(schema_version=SCHEMA_VERSION, op="delete", product_id=third.product_id)
    messages = [first, two_photos, third, delete, bad]  # product B (third) is indexed, then deleted
    record, log = start_ingest_topology(stack.settings, settings, duration_s=300)
    reader = StatusReader(settings.stores, settings.stores.status_topic, retry_s=0.5).start()
    try:
        publish(
            settings.stores.kafka_bootstrap_servers,
            settings.stores.topic,
            [(m.product_id.encode(), encode_message(m)) for m in messages],
        )
        states = {first.product_id: "searchable", third.product_id: "deleted", "status-bad": "dead_lettered"}

        def recorded() -> bool:
            return all(getattr(reader.get(p), "state", None) == state for p, state in states.items())

        wait_for(recorded, record, log, timeout_s=180)
        (metrics / RECONCILE_FILE).unlink(missing_ok=True)  # the next check runs with everything written
        wait_for(lambda: _orphan_counts(metrics) is not None, record, log, timeout_s=60, poll_s=0.5)
        assert _orphan_counts(metrics) == {"milvus": 0, "solr": 0}

        # a vector without metadata (as a crash between the stores would leave) is counted at the next check
        orphan = CatalogItem(**(first.model_dump(exclude={"schema_version", "op", "image_b64"}) | {
            "id": "f" * 64, "photo_sha256": "e" * 64, "model_version": embedder.version,
            "product_id": "status-orphan"}))  # fmt: skip
        index.vectors.upsert([orphan], np.ones((1, embedder.dim), dtype=np.float32) / np.sqrt(embedder.dim))
        wait_for(lambda: _orphan_counts(metrics) == {"milvus": 1, "solr": 0}, record, log, timeout_s=60, poll_s=0.5)
    finally:
        reader.close()
        stop(record, timeout_s=30)

    statuses = [
        ProductStatus.decode(r.value)
        for r in read_topic(settings.stores.kafka_bootstrap_servers, settings.stores.status_topic, 99, 3)
    ]
    photos_of_a = {p.id for s in statuses if s.product_id == first.product_id for p in s.items}
    photos = list(catalog.good_ids.values())[:2]
    # each photo's message recorded the photo it wrote
    assert photos_of_a == {item_id(first.product_id, photo_sha256(photo)) for photo in photos}
    searchable = reader.get(first.product_id)
    assert searchable is not None and searchable.model_version == embedder.version
    dead = reader.get("status-bad")
    assert dead is not None and dead.stage == "decode" and dead.reason and dead.source.startswith(settings.stores.topic)
    assert [s.state for s in statuses if s.product_id == third.product_id] == ["searchable", "deleted"]
    assert {s.product_id for s in statuses} == set(states)  # one record per message, none for the orphan
