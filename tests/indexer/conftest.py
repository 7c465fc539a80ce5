"""Catalog items and per-test stores on the real Milvus and Solr of the session stack."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pysolr
import pytest
from numpy.typing import NDArray

from indexer.item import CatalogItem, item_id, photo_sha256
from indexer.metadata_store import MetadataStore
from indexer.vector_store import VectorStore

DIM = 8
ItemFactory = Callable[..., CatalogItem]


@pytest.fixture
def model_version() -> str:
    """A model version of its own per test, so each test gets a fresh Milvus collection."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_item(model_version: str) -> ItemFactory:
    """Build a valid item for image number n; keyword arguments override fields (the id follows the product id
    and photo_sha256 unless given)."""

    def make(n: int, **fields: Any) -> CatalogItem:
        defaults: dict[str, Any] = {
            "photo_sha256": photo_sha256(f"image-{n}".encode()),
            "product_id": f"P{n}",
            "title": f"Cotton shirt number {n}",
            "brand": "Acme",
            "category": "shirt",
            "colour": "blue",
            "price": 10.0 + n,
            "currency": "EUR",
            "product_url": f"https://shop.example/p/{n}",
            "image_url": f"https://shop.example/img/{n}.jpg",
            "source_site": "shop.example",
            "crawled_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "in_stock": True,
            "model_version": model_version,
        }
        values = {**defaults, **fields}
        return CatalogItem(**{"id": item_id(values["product_id"], values["photo_sha256"]), **values})

    return make


def unit_vectors(count: int, dim: int = DIM, seed: int = 0) -> NDArray[np.float32]:
    """count random unit vectors, shape (count, dim)."""
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def vector_store(milvus_uri: str, model_version: str, collection_prefix: str) -> Iterator[VectorStore]:
    """An empty collection of the test module's prefix on the test Milvus, dropped after the test."""
    store = VectorStore.connect(milvus_uri, model_version, DIM, batch_size=64, collection_prefix=collection_prefix)
    yield store
    store.drop()


@pytest.fixture
def metadata_store(solr_core_url: str) -> MetadataStore:
    """The test Solr catalog core, emptied before the test."""
    pysolr.Solr(solr_core_url).delete(q="*:*", commit=True)
    return MetadataStore.connect(solr_core_url, batch_size=64)
