"""What a promotion refuses, and what drop and rollback do, on the real Milvus and Solr: searches keep using the
serving model whenever a promotion stops before its switch."""

import time
from collections.abc import Iterator
from pathlib import Path

import pysolr
import pytest
import torch

from embedder import Embedder
from embedder.checkpoint import load_checkpoint, save_checkpoint
from indexer.bulk_load import bulk_load
from indexer.catalog_index import CatalogIndex
from indexer.folder_images import list_class_folder
from indexer.model_registry import ModelRecord, ModelRegistry, settings_model
from indexer.photo_store import PhotoStore
from indexer.promotion import PromotionRefused, Stores, drop, promote, rollback
from indexer.vector_store import VectorStore
from settings import EmbeddingSettings, IndexerSettings, StoreSettings
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes

pytestmark = pytest.mark.integration


@pytest.fixture
def catalog_folder(tmp_path: Path) -> Path:
    """12 photos in 3 categories: the catalog and the gate's evaluation set."""
    for label, colour in enumerate(COLOURS):
        (tmp_path / "catalog" / f"c{label}").mkdir(parents=True)
        for i in range(4):
            photo = jpeg_bytes(coloured_image(colour, seed=9000 + 100 * label + i))
            (tmp_path / "catalog" / f"c{label}" / f"{i}.jpg").write_bytes(photo)
    return tmp_path / "catalog"


@pytest.fixture
def stores(
    milvus_uri: str, solr_core_url: str, collection_prefix: str, tiny_checkpoint: Path, tmp_path: Path
) -> Iterator[tuple[Stores, ModelRecord]]:
    """Empty stores of this module, the promotion's view of them, and the settings' model (the tiny one)."""
    pysolr.Solr(solr_core_url).delete(q="*:*", commit=True)
    settings = StoreSettings(milvus_uri=milvus_uri, solr_core_url=solr_core_url,
                             milvus_collection_prefix=collection_prefix, photo_store=tmp_path / "photos")  # fmt: skip
    registry = ModelRegistry.connect(settings)
    registry.client.drop_collection(registry.collection)
    registry = ModelRegistry.connect(settings)

    def collection(record: ModelRecord) -> VectorStore:
        return CatalogIndex.from_settings(settings, IndexerSettings(), record.version, record.dim).vectors

    fallback = settings_model(EmbeddingSettings(model_path=tiny_checkpoint))
    index = CatalogIndex.from_settings(settings, IndexerSettings(), fallback.version, fallback.dim)
    index.vectors.drop()
    promotion = Stores(registry, index.metadata, PhotoStore(settings.photo_store), collection, poll_s=0.1)
    yield promotion, fallback
    for name in registry.client.list_collections():
        if name.startswith(f"{collection_prefix}_"):
            registry.client.drop_collection(name)


def index_catalog(promotion: Stores, fallback: ModelRecord, folder: Path, keep_photos: bool = True) -> None:
    """The catalog embedded by the settings' model into both stores (photos kept in the photo store, or not)."""
    embedder = Embedder.load(fallback.checkpoint)
    index = CatalogIndex(promotion.collection(fallback), promotion.metadata)
    bulk_load(list_class_folder(folder), embedder, index, progress=False,
              photos=promotion.photos if keep_photos else None)  # fmt: skip


def has_collection_of(promotion: Stores, version: str, timeout_s: float = 10.0) -> bool:
    """Whether a collection of the version is listed, once a drop has had time to show (milvus-lite lists a
    dropped collection for a moment)."""
    ours = promotion.registry.collection.removesuffix("models")  # this module's prefix (other modules use the model)
    deadline = time.monotonic() + timeout_s
    while any(name.startswith(ours) and version in name for name in promotion.registry.client.list_collections()):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)
    return False


def blind_checkpoint(checkpoint: Path, path: Path) -> Path:
    """The model with its embedding head zeroed and a constant bias: every photo gets the same vector."""
    weights = load_checkpoint(checkpoint)
    generator = weights["generator"]
    for name in [n for n in generator if n.endswith("head.weight")]:
        generator[name] = torch.zeros_like(generator[name])
        generator[name.replace("weight", "bias")] = torch.ones_like(generator[name.replace("weight", "bias")])
    save_checkpoint(path, {k: v for k, v in weights.items() if k != "format"})
    return path


def test_the_gate_refuses_a_worse_model_and_nothing_changes(
    stores: tuple[Stores, ModelRecord], catalog_folder: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    promotion, fallback = stores
    index_catalog(promotion, fallback, catalog_folder)
    blind = blind_checkpoint(tiny_checkpoint, tmp_path / "blind.pt")
    with pytest.raises(PromotionRefused, match="the gate refused") as refused:
        promote(promotion, fallback, blind, catalog_folder)
    assert "'worse_on': ['R@1', 'mAP@all']" in str(refused.value)
    serving = promotion.registry.serving()
    assert serving is not None and serving.version == fallback.version
    assert set(promotion.registry.models()) == {fallback.version}  # the refused model was never registered
    blind_version = Embedder.load(blind).version
    assert not has_collection_of(promotion, blind_version)


def test_a_promotion_stops_when_photos_are_missing_from_the_photo_store(
    stores: tuple[Stores, ModelRecord], catalog_folder: Path, second_checkpoint: Path
) -> None:
    promotion, fallback = stores
    index_catalog(promotion, fallback, catalog_folder, keep_photos=False)
    with pytest.raises(PromotionRefused, match="12 items have no photo in the photo store"):
        promote(promotion, fallback, second_checkpoint, catalog_folder)
    assert set(promotion.registry.models()) == {fallback.version}
    second = Embedder.load(second_checkpoint).version
    assert not has_collection_of(promotion, second)  # its build dropped


def test_drop_keeps_the_serving_model_and_ends_rollback_to_the_dropped_one(
    stores: tuple[Stores, ModelRecord], catalog_folder: Path, second_checkpoint: Path
) -> None:
    promotion, fallback = stores
    index_catalog(promotion, fallback, catalog_folder)
    report = promote(promotion, fallback, second_checkpoint, catalog_folder)
    assert report.switched and report.build is not None and report.build.added == 12
    new = promotion.registry.models()[report.version]
    assert promotion.collection(new).all_ids() == promotion.collection(fallback).all_ids()
    with pytest.raises(PromotionRefused, match="serves searches"):
        drop(promotion, report.version)
    with pytest.raises(PromotionRefused, match="already serves"):
        promote(promotion, fallback, second_checkpoint, catalog_folder)
    drop(promotion, fallback.version)
    assert set(promotion.registry.models()) == {report.version}
    assert not has_collection_of(promotion, fallback.version)
    with pytest.raises(PromotionRefused, match="no previous model"):
        rollback(promotion)
