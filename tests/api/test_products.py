"""GET /v1/products/{id}/status against the real stack: statuses read from a real status topic, photos from Solr."""

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from api.app import create_app
from ingest.dead_letter import DeadLetter
from ingest.status import ProductStatus
from settings import Settings
from tests.api.conftest import API_KEY, ApiCatalog
from tests.api.test_items import message
from tests.integration_fixtures import free_ports

pytestmark = pytest.mark.integration
KEY = {"X-API-Key": API_KEY}


def _status_when(client: TestClient, product_id: str, done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """The status response once done(response) holds (the API reads the status topic in the background)."""
    deadline = time.monotonic() + 30
    while not done(response := client.get(f"/v1/products/{product_id}/status", headers=KEY)):
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    return response


def _record(settings: Settings, *statuses: ProductStatus) -> None:
    """Write statuses as the topology does."""
    producer = KafkaProducer(bootstrap_servers=settings.stores.kafka_bootstrap_servers)
    for status in statuses:
        producer.send(settings.stores.status_topic, key=status.key(), value=status.encode()).get(timeout=10)
    producer.close()


def test_the_status_needs_the_publishing_key(client: TestClient) -> None:
    assert client.get("/v1/products/P1/status").json()["error"]["code"] == "missing_api_key"
    response = client.get("/v1/products/P1/status", headers={"X-API-Key": "wrong"})
    assert response.status_code == 403


def test_a_product_published_through_the_api_is_queued_then_what_the_topology_recorded(
    client: TestClient, api_settings: Settings, api_catalog: ApiCatalog
) -> None:
    product_id = "P-status-1"
    assert client.post("/v1/items", json=message(product_id), headers=KEY).status_code == 202
    queued = _status_when(client, product_id, lambda r: r.status_code == 200)
    assert queued.json()["state"] == "queued" and queued.json()["photos"] == []

    indexed = api_catalog.items[0]  # product P0 of the test catalog: two photos in the index
    _record(api_settings, ProductStatus.queued(indexed.product_id), ProductStatus.searchable(indexed))
    searchable = _status_when(client, indexed.product_id, lambda r: r.json().get("state") == "searchable").json()
    both = sorted(item.id for item in api_catalog.items if item.product_id == indexed.product_id)
    assert [photo["id"] for photo in searchable["photos"]] == both and len(both) == 2
    assert searchable["model_version"] == api_catalog.model_version

    letter = DeadLetter.of(f'{{"product_id": "{product_id}"}}', "fetch", "HTTP 404 from the image server", "t/0/3")
    _record(api_settings, ProductStatus.dead_lettered(letter))  # type: ignore[arg-type]
    dead = _status_when(client, product_id, lambda r: r.json().get("state") == "dead_lettered").json()
    assert (dead["stage"], dead["reason"], dead["source"]) == ("fetch", "HTTP 404 from the image server", "t/0/3")


def test_an_unknown_product_is_404(client: TestClient) -> None:
    response = _status_when(client, "P-never-published", lambda r: r.status_code != 503)
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_product"


def test_the_api_starts_and_answers_503_while_kafka_is_down(api_settings: Settings) -> None:
    down = api_settings.changed(stores={"kafka_bootstrap_servers": f"127.0.0.1:{free_ports(1)[0]}"})
    with TestClient(create_app(down)) as client:
        response = client.get("/v1/products/P1/status", headers=KEY)
        assert response.status_code == 503 and response.json()["error"]["code"] == "status_unavailable"
        assert response.headers["Retry-After"] == "5"
