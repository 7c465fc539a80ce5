"""GET /v1/facets against the real Solr."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ApiCatalog

pytestmark = pytest.mark.integration


def test_facet_counts_of_the_model_version(client: TestClient, api_catalog: ApiCatalog) -> None:
    response = client.get("/v1/facets")
    assert response.status_code == 200
    facets = response.json()["facets"]
    assert facets["category"] == dict(Counter(item.category for item in api_catalog.items))
    assert facets["brand"] == dict(Counter(item.brand for item in api_catalog.items))
    assert set(facets) == {"category", "brand", "colour", "source_site"}


def test_facets_under_filters_and_text(client: TestClient, api_catalog: ApiCatalog) -> None:
    response = client.get("/v1/facets", params={"category": ["shirt", "shoe"], "price_max": 40, "q": "linen"})
    assert response.status_code == 200
    expected = Counter(
        item.brand for item in api_catalog.items
        if item.category in ("shirt", "shoe") and item.price <= 40 and "linen" in item.title
    )  # fmt: skip
    assert response.json()["facets"]["brand"] == dict(expected)


def test_bad_facet_filters(client: TestClient) -> None:
    response = client.get("/v1/facets", params={"price_min": 50, "price_max": 10})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_filter"
    response = client.get("/v1/facets", params={"in_stock": "perhaps"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_field"
