"""/healthz, /readyz, /metrics, and 503s when the stores are down (an app pointed at dead ports)."""

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.api.conftest import API_KEY, ApiCatalog, query_photo
from tests.api.test_items import message

pytestmark = pytest.mark.integration


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {name for name, c in body["components"].items() if c["ok"]} == {"model", "milvus", "solr", "kafka"}


def test_metrics_count_requests_per_route_template(client: TestClient, api_catalog: ApiCatalog) -> None:
    client.get(f"/v1/items/{api_catalog.items[0].id}")
    client.post("/v1/search", files={"image": ("q.jpg", query_photo(api_catalog, "dress"), "image/jpeg")})
    text = client.get("/metrics").text
    assert 'cbir_api_requests_total{method="GET",route="/v1/items/{item_id}",status="200"}' in text
    assert 'cbir_api_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/search"}' in text
    assert 'cbir_api_stage_duration_seconds_count{stage="embed"}' in text
    assert 'cbir_api_store_duration_seconds_count{operation="search",store="milvus"}' in text


def test_openapi_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert "/v1/search" in client.get("/openapi.json").json()["paths"]


@pytest.fixture
def dead_store_client(api_settings: Settings, dead_port: int) -> Iterator[TestClient]:
    """The app with Milvus, Solr and Kafka all pointing at a port where nothing listens."""
    settings = api_settings.changed(
        stores={
            "milvus_uri": f"http://127.0.0.1:{dead_port}",
            "solr_core_url": f"http://127.0.0.1:{dead_port}/solr/catalog",
            "kafka_bootstrap_servers": f"127.0.0.1:{dead_port}",
            "timeout_s": 1.0,
        }
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_stores_down_give_503_not_500(dead_store_client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "dress")
    response = dead_store_client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "store_unavailable"
    assert dead_store_client.get(f"/v1/items/{api_catalog.items[0].id}").status_code == 503
    assert dead_store_client.get("/v1/facets").status_code == 503
    publish = dead_store_client.post("/v1/items", json=message("P-down"), headers={"X-API-Key": API_KEY})
    assert publish.status_code == 503 and publish.json()["error"]["code"] == "kafka_unavailable"
    assert dead_store_client.get("/healthz").status_code == 200
    ready = dead_store_client.get("/readyz")
    assert ready.status_code == 503
    components = ready.json()["components"]
    assert components["model"]["ok"] and not any(components[name]["ok"] for name in ("milvus", "solr", "kafka"))


def test_the_recall_canary_reports_the_index_recall_on_real_searches(
    api_settings: Settings, api_catalog: ApiCatalog
) -> None:
    """Every search sampled, a round every 0.2 s: the searches' recall@10 against exact search reaches /metrics
    (1.0: the test collection's index is FLAT, i.e. exact)."""
    api = api_settings.api.model_copy(update={"recall_canary_rate": 1.0, "recall_canary_interval_s": 0.2})
    with TestClient(create_app(api_settings.model_copy(update={"api": api}))) as client:
        for category in ("dress", "shirt", "shoe"):
            photo = query_photo(api_catalog, category)
            response = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")})
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 30
        while "cbir_api_canary_recall_at_10_count 3.0" not in (text := client.get("/metrics").text):
            assert time.monotonic() < deadline, "the canary reported nothing"
            time.sleep(0.2)
        assert "cbir_api_canary_recall_at_10_sum 3.0" in text
        assert "cbir_api_canary_recall_at_10_last_round 1.0" in text
