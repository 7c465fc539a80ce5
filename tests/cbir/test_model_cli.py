"""`cbir model promote` and `rollback` on the real stores while a client searches the live API without pause:
no search fails, every item is found by its own photo before, during and after each switch, and text search and
facets stay complete."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from cbir.cli import app
from devstack.launcher import Stack
from embedder import Embedder
from indexer.bulk_load import bulk_load
from indexer.catalog_index import CatalogIndex
from indexer.folder_images import list_class_folder
from indexer.item import item_id, photo_sha256
from indexer.model_registry import ModelRegistry
from indexer.photo_store import PhotoStore
from ingest.topics import ensure_ingest_topics
from settings import ApiSettings, EmbeddingSettings, IndexerSettings, Settings, StoreSettings
from tests.api.conftest import LiveServer
from tests.integration_fixtures import own_solr_core
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes

pytestmark = pytest.mark.integration

runner = CliRunner()
PREFIX = "tmodelcli"  # this module's Milvus collections and registry
CATEGORIES = ("dress", "shirt", "shoe")
PHOTOS_PER_CLASS = 8
POLL_S = 0.3


@pytest.fixture(scope="module")
def catalog_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 photos in 3 categories (<category>/<n>.jpg): the catalog, and the gate's labelled evaluation set."""
    root = tmp_path_factory.mktemp("catalog")
    for label, (category, colour) in enumerate(zip(CATEGORIES, COLOURS, strict=True)):
        (root / category).mkdir()
        for i in range(PHOTOS_PER_CLASS):
            (root / category / f"{i}.jpg").write_bytes(jpeg_bytes(coloured_image(colour, seed=7000 + 100 * label + i)))
    return root


@pytest.fixture(scope="module")
def settings(stack: Stack, milvus_uri: str, kafka_bootstrap: str, tiny_checkpoint: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:  # fmt: skip
    """The stores of this module (own Solr core, own collection prefix, own photo store), the tiny model first."""
    with own_solr_core(stack, "t_model_cli") as solr_url:
        settings = Settings(
            stores=StoreSettings(
                milvus_uri=milvus_uri, solr_core_url=solr_url, milvus_collection_prefix=PREFIX,
                kafka_bootstrap_servers=kafka_bootstrap, topic="model-cli", status_topic="model-cli.status",
                photo_store=tmp_path_factory.mktemp("photos"),
            ),
            embedding=EmbeddingSettings(model_path=tiny_checkpoint, model_poll_s=POLL_S),
            api=ApiSettings(search_rate_per_s=0, k_default=5, rerank="none"),
        )  # fmt: skip
        ensure_ingest_topics(settings.stores, partitions=1)
        yield settings
        registry = ModelRegistry.connect(settings.stores)
        for name in registry.client.list_collections():
            if name.startswith(f"{PREFIX}_"):
                registry.client.drop_collection(name)


@dataclass
class Searches:
    """What the searching client saw."""

    served: int = 0
    failures: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # the model of each answer, in order
    stop: threading.Event = field(default_factory=threading.Event)

    def switches(self) -> list[str]:
        """The models in the order they answered (repeats collapsed)."""
        return [v for i, v in enumerate(self.versions) if i == 0 or self.versions[i - 1] != v]


def search_without_pause(url: str, photos: dict[str, bytes], searches: Searches, total: int) -> None:
    """Search by each item's photo in turn (it must be the first hit), with text and facets every round."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not searches.stop.is_set():
            for item_id, photo in photos.items():
                response = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")})
                searches.served += 1
                if response.status_code != 200:
                    searches.failures.append(f"search {response.status_code}: {response.text[:200]}")
                    continue
                body = response.json()
                searches.versions.append(body["model_version"])
                if not body["hits"] or body["hits"][0]["id"] != item_id:
                    searches.failures.append(f"{item_id} not first with model {body['model_version']}")
            facets = client.get("/v1/facets").json()["facets"]["category"]
            if sum(facets.values()) != total:
                searches.failures.append(f"facets count {facets}")
            text = client.post("/v1/search", json={"q": "dress", "k": 20}).json()
            if len(text["hits"]) != PHOTOS_PER_CLASS:
                searches.failures.append(f"text search found {len(text['hits'])} dresses")


def wait_for(condition: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> dict:
    """Run `cbir model ...` with this module's stores (options and environment); its JSON output."""
    stores = settings.stores
    monkeypatch.setenv("CBIR_STORES_MILVUS_COLLECTION_PREFIX", PREFIX)
    monkeypatch.setenv("CBIR_STORES_PHOTO_STORE", str(stores.photo_store))
    monkeypatch.setenv("CBIR_EMBEDDING_MODEL_POLL_S", str(POLL_S))
    options = ["--model", str(settings.embedding.model_path), "--milvus-uri", stores.milvus_uri,
               "--solr-url", stores.solr_core_url, "--run-dir", str(tmp_path / "no-stack")]  # fmt: skip
    result = runner.invoke(app, ["model", *args, *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_promote_and_roll_back_while_searching(
    settings: Settings, catalog_folder: Path, second_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Embedder.load(settings.embedding.model_path)
    index = CatalogIndex.from_settings(settings.stores, IndexerSettings(), first.version, first.dim)
    images = list_class_folder(catalog_folder)
    loaded = bulk_load(images, first, index, progress=False, photos=PhotoStore(settings.stores.photo_store))
    assert loaded.indexed == len(images) == 3 * PHOTOS_PER_CLASS
    photos = {}  # item id -> its photo
    for image in images:
        data = image.path.read_bytes()
        photos[item_id(image.catalog_fields(data)["product_id"], photo_sha256(data))] = data
    searches = Searches()
    with LiveServer(create_app(settings)) as server:
        client = threading.Thread(target=search_without_pause, args=(server.url, photos, searches, len(photos)))
        client.start()
        try:
            wait_for(lambda: searches.served >= len(photos))
            before = searches.served
            gate = ["--eval-set", str(catalog_folder), "--record", str(tmp_path / "promotions.jsonl")]
            report = invoke(settings, monkeypatch, tmp_path, "promote", str(second_checkpoint), *gate)
            during = searches.served - before
            second = report["version"]
            assert report["switched"] and report["previous"] == first.version
            assert report["gate"]["passed"] and report["gate"]["images"] == len(photos)
            assert report["build"]["added"] == len(photos) and not report["build"]["missing_photos"]
            wait_for(lambda: searches.versions[-1] == second)
            listed = invoke(settings, monkeypatch, tmp_path, "list")
            assert listed["serving"]["version"] == second and listed["serving"]["previous"] == first.version
            assert {m["version"]: m["state"] for m in listed["models"]} == {second: "serving", first.version: "standby"}
            served_on_second = searches.served
            wait_for(lambda: searches.served > served_on_second + len(photos))  # a whole round on the new model
            rolled = invoke(settings, monkeypatch, tmp_path, "rollback")
            assert rolled["serving"]["version"] == first.version
            wait_for(lambda: searches.versions[-1] == first.version)
            served_back = searches.served
            wait_for(lambda: searches.served > served_back + len(photos))
        finally:
            searches.stop.set()
            client.join(timeout=60)
    assert not searches.failures, searches.failures[:10]
    assert searches.switches() == [first.version, second, first.version]
    assert during > 0, "no search was served while the promotion ran"
    print(f"promotion: {report['items_per_s']} items/s re-embedded, switch {report['switch_s'] * 1000:.1f} ms, "
          f"{during} searches served during it, {Counter(searches.versions)}")  # fmt: skip
    recorded = [json.loads(line) for line in (tmp_path / "promotions.jsonl").read_text().splitlines()]
    assert recorded[-1]["version"] == second and recorded[-1]["gate"]["candidate"]["version"] == second
