"""GET /v1/items/{id}, GET /v1/items/{id}/similar and POST /v1/items (Kafka) against the real stack."""

import base64

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import Item
from ingest.message import parse_message
from ingest.topics import MAX_MESSAGE_BYTES
from settings import Settings
from tests.api.conftest import API_KEY, ApiCatalog, query_photo
from tests.ingest.kafka_helpers import read_topic, unique_topic
from tests.ingest.test_publisher import create_small_topic

pytestmark = pytest.mark.integration
UNKNOWN_ID = "0" * 64


def test_get_item_returns_its_catalog_fields(client: TestClient, api_catalog: ApiCatalog) -> None:
    item = api_catalog.items[7]
    response = client.get(f"/v1/items/{item.id}")
    assert response.status_code == 200
    assert response.json() == item.model_dump(mode="json", include=set(Item.model_fields))
    assert set(response.json()) == set(item.model_dump()) - {"model_version", "crawled_at", "photo_sha256", "thumbnail"}


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    response = client.get(f"/v1/items/{UNKNOWN_ID}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "item_not_found"
    assert client.get(f"/v1/items/{UNKNOWN_ID}/similar").status_code == 404
    response = client.get("/v1/items/not-an-id")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_field"


def test_similar_searches_by_the_stored_vector_without_the_item_itself(
    client: TestClient, api_catalog: ApiCatalog
) -> None:
    item = api_catalog.of_category("shoe")[0]
    response = client.get(f"/v1/items/{item.id}/similar", params={"k": 6})
    assert response.status_code == 200, response.text
    similar = [hit["id"] for hit in response.json()["hits"]]
    by_photo = client.post("/v1/search", files={"image": ("q.jpg", query_photo(api_catalog, "shoe"), "image/jpeg")},
                           data={"k": "7"}).json()  # fmt: skip
    assert item.id not in similar
    assert similar == [hit["id"] for hit in by_photo["hits"] if hit["id"] != item.id][:6]
    filtered = client.get(f"/v1/items/{item.id}/similar", params={"k": 20, "category": "dress"}).json()
    assert filtered["hits"] and {hit["category"] for hit in filtered["hits"]} == {"dress"}
    bad = client.get(f"/v1/items/{item.id}/similar", params={"price_min": 9, "price_max": 1})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_filter"


def message(product_id: str) -> dict:
    return {
        "schema_version": 1, "op": "upsert", "product_id": product_id, "title": "Red linen dress", "brand": "Acme",
        "category": "dress", "colour": "red", "price": 49.5, "currency": "EUR",
        "product_url": "https://shop.example/p/1", "image_url": "https://shop.example/img/1.jpg",
        "image_b64": base64.b64encode(b"\xff\xd8 not really a jpeg").decode(), "source_site": "shop.example",
        "crawled_at": "2026-01-02T03:04:05Z", "in_stock": True,
    }  # fmt: skip


def test_publishing_needs_a_valid_key(client: TestClient) -> None:
    response = client.post("/v1/items", json=message("P-nokey"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "missing_api_key"
    response = client.post("/v1/items", json=message("P-badkey"), headers={"X-API-Key": API_KEY + "x"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "wrong_api_key"


def test_published_item_reaches_kafka_in_the_crawler_contract(
    client: TestClient, kafka_bootstrap: str, kafka_topic: str
) -> None:
    response = client.post("/v1/items", json=message("P-api-1"), headers={"X-API-Key": API_KEY})
    assert response.status_code == 202, response.text
    assert response.json()["topic"] == kafka_topic and response.json()["offset"] >= 0
    where = (response.json()["partition"], response.json()["offset"])
    records = [
        r for r in read_topic(kafka_bootstrap, kafka_topic, count=99, timeout_s=3) if (r.partition, r.offset) == where
    ]
    assert records and records[0].key == b"P-api-1"  # the topic is shared with other tests of the API
    assert (
        parse_message(records[0].value).model_dump()
        == parse_message(str(response.request.content.decode())).model_dump()
    )


def test_kafka_takes_every_message_the_api_accepts_and_larger_ones_get_413(
    api_settings: Settings, kafka_bootstrap: str
) -> None:
    """Up to MAX_MESSAGE_BYTES the message reaches the topic (Kafka's 1 MB default refused it with 503); above, 413.
    A topic of its own: what other tests published to the session's is not read here."""
    topic = unique_topic("api-big")
    settings = api_settings.changed(fetch={"max_image_bytes": 5 * 1024 * 1024}, stores={"topic": topic})
    largest = (MAX_MESSAGE_BYTES - 4096) // 4 * 3  # photo bytes whose message is just under the limit
    big = {**message("P-big"), "image_b64": base64.b64encode(bytes(largest)).decode()}
    too_big = {**message("P-too-big"), "image_b64": base64.b64encode(bytes(4 * 1024 * 1024)).decode()}
    with TestClient(create_app(settings)) as big_client:
        accepted = big_client.post("/v1/items", json=big, headers={"X-API-Key": API_KEY})
        refused = big_client.post("/v1/items", json=too_big, headers={"X-API-Key": API_KEY})
    assert accepted.status_code == 202, accepted.text
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"
    assert "Kafka takes at most" in refused.json()["error"]["message"]
    records = read_topic(kafka_bootstrap, topic, count=1, timeout_s=10)
    assert any(record.key == b"P-big" and len(record.value) > largest for record in records)


def test_a_message_the_broker_refuses_does_not_poison_the_next_publish(
    api_settings: Settings, kafka_bootstrap: str
) -> None:
    """The broker refusing one client's message (a topic with a small limit) fails that client only."""
    topic = unique_topic("api-small")
    create_small_topic(kafka_bootstrap, topic, 10_000)
    settings = api_settings.changed(stores={"topic": topic})
    refused_body = {**message("P-refused"), "image_b64": base64.b64encode(bytes(30_000)).decode()}
    with TestClient(create_app(settings)) as small_client:
        refused = small_client.post("/v1/items", json=refused_body, headers={"X-API-Key": API_KEY})
        accepted = small_client.post("/v1/items", json=message("P-after"), headers={"X-API-Key": API_KEY})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "kafka_unavailable"
    assert accepted.status_code == 202, accepted.text


@pytest.mark.parametrize(
    "change", [{"op": "delete"}, {"price": -1}, {"image_b64": "###"}, {"schema_version": 2}, {"extra": 1}]
)
def test_invalid_messages_are_refused_with_422(client: TestClient, change: dict) -> None:
    response = client.post("/v1/items", json={**message("P-bad"), **change}, headers={"X-API-Key": API_KEY})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_field", "not_an_image")
