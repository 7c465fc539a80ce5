"""The ingest keeps every registered model current: each photo is embedded by the serving model and by the one a
promotion builds, written to both collections, and kept in the photo store (real Kafka, Storm, Milvus, Solr)."""

from pathlib import Path

import pytest

from devstack.launcher import Stack
from devstack.process import stop
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from indexer.item import photo_sha256
from indexer.model_registry import ModelRecord, ModelRegistry, settings_model
from indexer.photo_store import PhotoStore
from tests.topologies.ingest_fixtures import inline_catalog
from tests.topologies.running_topology import empty_stores, publish, topology_settings, wait_for
from topologies.ingest.runner import start_ingest_topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTOS = 24


def test_a_model_being_built_gets_every_new_photo_too(
    stack: Stack, solr_core_url: str, tiny_checkpoint: Path, second_checkpoint: Path, tmp_path: Path
) -> None:
    settings = topology_settings(stack, solr_core_url, tiny_checkpoint, tmp_path / "metrics",
                                 photo_store=tmp_path / "photos", model_poll_s=0.5)  # fmt: skip
    first, second = Embedder.load(tiny_checkpoint), Embedder.load(second_checkpoint)
    serving = empty_stores(settings, first.dim)
    registry = ModelRegistry.connect(settings.stores)
    registry.put(settings_model(settings.embedding))
    registry.switch(first.version)
    registry.put(ModelRecord(version=second.version, dim=second.dim, checkpoint=str(second_checkpoint),
                             state="building"))  # fmt: skip
    building = CatalogIndex.from_settings(settings.stores, settings.indexer, second.version, second.dim)
    building.vectors.drop()
    building = CatalogIndex.from_settings(settings.stores, settings.indexer, second.version, second.dim)
    catalog = inline_catalog(PHOTOS)
    record, log = start_ingest_topology(stack.settings, settings, duration_s=300, partitions=1)
    try:
        publish(settings.stores.kafka_bootstrap_servers, settings.stores.topic, catalog.messages)
        wait_for(lambda: len(building.vectors.all_ids()) == len(serving.vectors.all_ids()) == PHOTOS, record, log,
                 timeout_s=240)  # fmt: skip
    finally:
        stop(record, timeout_s=30)
    photos = PhotoStore(settings.stores.photo_store)
    assert all(photos.get(photo_sha256(photo)) == photo for photo in catalog.good_ids.values())
    for model, index in ((first, serving), (second, building)):
        assert index.vectors.all_ids() == set(catalog.good_ids)
        vectors = model.embed(list(catalog.good_ids.values()))  # each collection holds its own model's vectors
        for item_id, hits in zip(catalog.good_ids, index.vectors.search_batch(vectors, k=5), strict=True):
            assert item_id in [hit.id for hit in hits]
    building.vectors.drop()
    registry.client.drop_collection(registry.collection)
