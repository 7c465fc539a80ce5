"""An indexed test catalog on the session's real Milvus and Solr, the app over it, and a live server."""

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from devstack.launcher import Stack
from embedder import Embedder
from embedder.rerank import thumbnail_text
from indexer.catalog_index import CatalogIndex
from indexer.item import CatalogItem, item_id, photo_sha256
from ingest.topics import ensure_ingest_topics
from settings import ApiSettings, EmbeddingSettings, FetchSettings, IndexerSettings, Settings, StoreSettings
from tests.integration_fixtures import free_ports, own_solr_core
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes

API_KEY = "test-key-0123456789"
CATEGORIES = ("dress", "shirt", "shoe")  # one per synthetic colour class
BRANDS = ("Acme", "Globex")
PHOTOS_PER_CLASS = 12
COLLECTION_PREFIX = "tapicatalog"  # the API tests' Milvus collections, theirs alone


@dataclass(frozen=True)
class ApiCatalog:
    """What the test catalog holds: items in index order and the JPEG bytes of each photo."""

    model_version: str
    items: list[CatalogItem]
    photos: dict[str, bytes]  # item id -> JPEG
    photo_dir: Path  # the photos as files, <category>/<n>.jpg

    def of_category(self, category: str) -> list[CatalogItem]:
        return [item for item in self.items if item.category == category]


def catalog_item(n: int, label: int, photo: bytes, model_version: str) -> CatalogItem:
    """Item n: category from its colour class; two photos per product; every third title says 'linen'."""
    material = "linen" if n % 3 == 0 else "cotton"
    return CatalogItem(
        id=item_id(f"P{n // 2}", photo_sha256(photo)),
        photo_sha256=photo_sha256(photo),
        product_id=f"P{n // 2}",
        title=f"{BRANDS[n % 2]} {material} {CATEGORIES[label]} {n}",
        brand=BRANDS[n % 2],
        category=CATEGORIES[label],
        colour=["red", "green", "blue"][label],
        price=float(10 + n),
        currency="EUR",
        product_url=f"https://shop.example/p/{n}",
        image_url=f"https://shop.example/i/{n}.jpg",
        source_site="shop.example",
        crawled_at=datetime(2026, 1, 2, tzinfo=UTC),
        in_stock=n % 5 != 0,
        model_version=model_version,
        thumbnail=thumbnail_text(photo),
    )


@pytest.fixture(scope="session")
def api_solr_core_url(stack: Stack) -> Iterator[str]:
    """The Solr core of the API tests' catalog, theirs alone (the API app lives for the whole session)."""
    with own_solr_core(stack, "t_api_catalog") as url:
        yield url


@pytest.fixture(scope="session")
def api_catalog(
    milvus_uri: str, api_solr_core_url: str, tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiCatalog]:
    """36 synthetic photos (3 colour classes) embedded by the tiny model and indexed in both stores."""
    embedder = Embedder.load(tiny_checkpoint)
    version = f"api-test-{uuid.uuid4().hex[:8]}"
    photos, items = {}, []
    for label, colour in enumerate(COLOURS):
        for i in range(PHOTOS_PER_CLASS):
            photo = jpeg_bytes(coloured_image(colour, seed=5000 + 100 * label + i))
            item = catalog_item(label * PHOTOS_PER_CLASS + i, label, photo, version)
            photos[item.id] = photo
            items.append(item)
    stores = StoreSettings(
        milvus_uri=milvus_uri, solr_core_url=api_solr_core_url, milvus_collection_prefix=COLLECTION_PREFIX
    )
    index = CatalogIndex.from_settings(stores, IndexerSettings(), version, embedder.dim)
    index.upsert(items, embedder.embed(list(photos.values())))
    index.flush()
    photo_dir = tmp_path_factory.mktemp("photos")
    for n, item in enumerate(items):
        (photo_dir / item.category).mkdir(exist_ok=True)
        (photo_dir / item.category / f"{n}.jpg").write_bytes(photos[item.id])
    yield ApiCatalog(version, items, photos, photo_dir)
    index.vectors.drop()
    index.metadata.solr.delete(q=f'model_version:"{version}"', commit=True)


@pytest.fixture(scope="session")
def kafka_topic() -> str:
    return f"api-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def api_settings(
    api_catalog: ApiCatalog,
    milvus_uri: str,
    api_solr_core_url: str,
    kafka_bootstrap: str,
    tiny_checkpoint: Path,
    kafka_topic: str,
) -> Settings:
    """Settings of the app under test: the tiny model, the test catalog's collection, a small upload limit; its
    topics exist (the API reads product statuses from one), in whatever order the tests run."""
    settings = Settings(
        stores=StoreSettings(
            milvus_uri=milvus_uri, solr_core_url=api_solr_core_url, milvus_collection_prefix=COLLECTION_PREFIX,
            kafka_bootstrap_servers=kafka_bootstrap,
            topic=kafka_topic, status_topic=f"{kafka_topic}.status", timeout_s=5.0,
        ),
        fetch=FetchSettings(max_image_bytes=256 * 1024, allowed_networks=["127.0.0.0/8"]),
        embedding=EmbeddingSettings(model_path=tiny_checkpoint),
        api=ApiSettings(
            collection_version=api_catalog.model_version, api_keys=[SecretStr(API_KEY)],
            k_default=5, k_max=20, max_depth=30, photo_dir=api_catalog.photo_dir,
            search_rate_per_s=0,  # the suite is one client; tests/api/test_edge.py checks the limits
            publish_rate_per_s=0,
        ),
    )  # fmt: skip
    ensure_ingest_topics(settings.stores, partitions=1)  # as `cbir init-stores` makes them before the API serves
    return settings


@pytest.fixture(scope="session")
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The app in-process (lifespan run once for the session)."""
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread of the test process."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_ports(1)[0]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_api(api_settings: Settings) -> Iterator[LiveServer]:
    """The app served over real HTTP (for schemathesis and the browser)."""
    with LiveServer(create_app(api_settings)) as server:
        yield server


def query_photo(catalog: ApiCatalog, category: str, index: int = 0) -> bytes:
    """The JPEG of one indexed photo of a category."""
    return catalog.photos[catalog.of_category(category)[index].id]
