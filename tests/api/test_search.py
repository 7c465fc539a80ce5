"""POST /v1/search against the real Milvus and Solr of the session, with the tiny model."""

import base64
import http.server
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from embedder.pair_scorer import SCALAR_FEATURES, PairScorer
from indexer.metadata_store import MetadataStore
from tests.api.conftest import ApiCatalog, query_photo

pytestmark = pytest.mark.integration


def upload(client: TestClient, photo: bytes, **fields: object) -> dict:
    data = {name: [str(v) for v in value] if isinstance(value, list) else str(value) for name, value in fields.items()}
    response = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")}, data=data)
    assert response.status_code == 200, response.text
    return response.json()


def test_multipart_upload_finds_the_photo_itself_first_with_its_metadata(
    client: TestClient, api_catalog: ApiCatalog
) -> None:
    item = api_catalog.of_category("shirt")[3]
    body = upload(client, api_catalog.photos[item.id], k=5)
    assert body["fusion"] == "image" and body["model_version"] == api_catalog.model_version
    assert len(body["hits"]) == 5
    top = body["hits"][0]
    assert top["id"] == item.id and top["score"] == pytest.approx(1.0, abs=1e-3)
    assert (top["title"], top["brand"], top["price"], top["product_url"], top["image_url"]) == (
        item.title, item.brand, item.price, item.product_url, item.image_url,
    )  # fmt: skip
    scores = [hit["score"] for hit in body["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_json_base64_gives_the_same_ranking_as_the_upload(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "dress", 2)
    by_upload = upload(client, photo, k=8)
    response = client.post("/v1/search", json={"image_b64": base64.b64encode(photo).decode(), "k": 8})
    assert response.status_code == 200, response.text
    assert [h["id"] for h in response.json()["hits"]] == [h["id"] for h in by_upload["hits"]]
    assert "embed;dur=" in response.headers["server-timing"]
    assert "milvus-search;dur=" in response.headers["server-timing"]


@pytest.fixture
def photo_server(api_catalog: ApiCatalog) -> Iterator[str]:
    """A local HTTP server answering /photo.jpg with an indexed photo."""
    photo = query_photo(api_catalog, "shoe", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(photo)))
            self.end_headers()
            self.wfile.write(photo)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/photo.jpg"
    server.shutdown()


def test_image_url_is_fetched(client: TestClient, api_catalog: ApiCatalog, photo_server: str) -> None:
    response = client.post("/v1/search", json={"image_url": photo_server, "k": 3})
    assert response.status_code == 200, response.text
    assert response.json()["hits"][0]["id"] == api_catalog.of_category("shoe")[1].id
    assert "fetch;dur=" in response.headers["server-timing"]


def test_filters_are_pushed_into_the_image_search(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "dress")
    body = upload(client, photo, k=20, category=["shirt", "shoe"], price_max=40, in_stock="true")
    expected = {i.id for i in api_catalog.items if i.category in ("shirt", "shoe") and i.price <= 40 and i.in_stock}
    assert {hit["id"] for hit in body["hits"]} == expected  # all of them: filtered inside Milvus, not after
    assert expected and body["next_cursor"] is None


def test_text_is_fused_with_the_image_ranking(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "dress")
    plain = upload(client, photo, k=20)
    fused = upload(client, photo, k=20, q="linen")
    assert fused["fusion"] == "rrf"
    linen = {i.id for i in api_catalog.items if "linen" in i.title}
    top_plain = sum(hit["id"] in linen for hit in plain["hits"][:6])
    top_fused = sum(hit["id"] in linen for hit in fused["hits"][:6])
    assert top_fused > top_plain
    for hit in fused["hits"]:
        assert (hit["text_rank"] is not None) == (hit["id"] in linen)
        expected = 1 / (60 + hit["text_rank"]) if hit["text_rank"] else 0.0
        assert hit["score"] >= expected  # image term added on top
    assert [h["score"] for h in fused["hits"]] == sorted((h["score"] for h in fused["hits"]), reverse=True)


def test_cursor_pages_through_the_ranking(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "shoe")
    whole = upload(client, photo, k=12)
    first = upload(client, photo, k=6)
    second = upload(client, photo, k=6, cursor=first["next_cursor"])
    assert [h["id"] for h in first["hits"] + second["hits"]] == [h["id"] for h in whole["hits"]]


def test_pages_end_at_the_depth_limit(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo, seen, cursor = query_photo(api_catalog, "shoe"), [], None
    for _ in range(10):
        body = upload(client, photo, k=20, **({"cursor": cursor} if cursor else {}))
        seen += [hit["id"] for hit in body["hits"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 30 == len(set(seen))  # max_depth of the test settings


def test_a_cursor_of_another_query_is_refused(client: TestClient, api_catalog: ApiCatalog) -> None:
    first = upload(client, query_photo(api_catalog, "shoe"), k=3)
    response = client.post(
        "/v1/search",
        files={"image": ("q.jpg", query_photo(api_catalog, "dress"), "image/jpeg")},
        data={"k": "3", "cursor": first["next_cursor"]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


def test_one_per_product_keeps_the_best_photo_of_each(client: TestClient, api_catalog: ApiCatalog) -> None:
    photo = query_photo(api_catalog, "dress")
    plain = upload(client, photo, k=20)
    collapsed = upload(client, photo, k=10, one_per_product="true")
    products = [hit["product_id"] for hit in collapsed["hits"]]
    assert len(products) == len(set(products)) == 10
    best_first = []
    for hit in plain["hits"]:
        if hit["product_id"] not in {h["product_id"] for h in best_first}:
            best_first.append(hit)
    assert [h["id"] for h in collapsed["hits"]] == [h["id"] for h in best_first[:10]]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"files": {"image": ("q.txt", b"not an image at all", "text/plain")}}, 422, "not_an_image"),
        ({"files": {"image": ("q.jpg", b"", "image/jpeg")}}, 422, "not_an_image"),
        ({"data": {"k": "3"}, "files": {"other": ("q.jpg", b"x", "image/jpeg")}}, 422, "invalid_field"),
        ({"content": b"k=3", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": {"image_b64": "@@@"}}, 422, "not_an_image"),
        ({"json": {"image_b64": "AAAA", "k": "many"}}, 422, "invalid_field"),
        ({"json": {"image_b64": "AAAA", "k": 21}}, 422, "invalid_field"),
        ({"json": {"image_b64": "AAAA", "price_min": 50, "price_max": 10}}, 400, "bad_filter"),
        ({"json": {"image_b64": "AAAA", "cursor": "not-a-cursor"}}, 400, "bad_cursor"),
        ({"json": {"image_url": "http://10.1.2.3/x.jpg"}}, 422, "not_an_image"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "malformed_body"),
        (
            {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data"}},
            400,
            "malformed_body",
        ),
    ],
)
def test_bad_input_gets_a_json_error(client: TestClient, request_kwargs: dict, status: int, code: str) -> None:
    response = client.post("/v1/search", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("value", ["dress\n", "dress\nOR id != ''", "a\rb", "a\x00b", "a\tb", "a\x1bb"])
def test_control_characters_in_a_filter_value_are_a_bad_filter(
    client: TestClient, api_catalog: ApiCatalog, value: str
) -> None:
    """They used to reach the Milvus expression raw (503 store_rejected_request); now 400 everywhere."""
    photo = query_photo(api_catalog, "dress")
    search = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")}, data={"category": value})
    similar = client.get(f"/v1/items/{api_catalog.items[0].id}/similar", params={"brand": value})
    facets = client.get("/v1/facets", params={"colour": value})
    for response in (search, similar, facets):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "bad_filter"


def test_an_oversized_upload_is_refused_with_413(client: TestClient, api_catalog: ApiCatalog) -> None:
    big = b"\xff\xd8" + bytes(300 * 1024)  # over the test limit of 256 KiB
    response = client.post("/v1/search", files={"image": ("big.jpg", big, "image/jpeg")})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    response = client.post("/v1/search", json={"image_b64": base64.b64encode(big).decode()})
    assert response.status_code == 413


def search_words(client: TestClient, **fields: object) -> dict:
    """A search by words only: a multipart form without an image part (list fields as repeated parts)."""
    parts = [
        (name, (None, str(v)))
        for name, value in fields.items()
        for v in (value if isinstance(value, list) else [value])
    ]
    response = client.post("/v1/search", files=parts)
    assert response.status_code == 200, response.text
    return response.json()


def test_words_alone_find_the_items_in_solr_order(
    client: TestClient, api_catalog: ApiCatalog, api_solr_core_url: str
) -> None:
    body = search_words(client, q="linen", k=20)
    assert body["fusion"] == "text"
    linen = {item.id for item in api_catalog.items if "linen" in item.title}
    assert {hit["id"] for hit in body["hits"]} == linen and body["next_cursor"] is None
    solr = MetadataStore.connect(api_solr_core_url).search("linen", rows=20, model_version=api_catalog.model_version)
    assert [hit["id"] for hit in body["hits"]] == [item.id for item in solr.items]  # BM25: Solr's order
    for rank, hit in enumerate(body["hits"], 1):
        assert (hit["text_rank"], hit["image_score"]) == (rank, None)
        assert hit["score"] == pytest.approx(1 / (60 + rank))
    by_json = client.post("/v1/search", json={"q": "linen", "k": 20})
    assert by_json.status_code == 200, by_json.text
    assert [hit["id"] for hit in by_json.json()["hits"]] == [hit["id"] for hit in body["hits"]]
    assert "embed;dur=" not in by_json.headers["server-timing"]
    assert "solr-text;dur=" in by_json.headers["server-timing"]


def test_words_alone_take_the_same_filters_and_facets(client: TestClient, api_catalog: ApiCatalog) -> None:
    filters = {"category": ["dress", "shoe"], "price_max": 40, "in_stock": True}
    body = search_words(client, q="cotton", k=20, **filters)
    expected = [i for i in api_catalog.items if "cotton" in i.title and i.category in ("dress", "shoe")]
    expected = [i for i in expected if i.price <= 40 and i.in_stock]
    assert expected and {hit["id"] for hit in body["hits"]} == {i.id for i in expected}
    facets = client.get("/v1/facets", params={"q": "cotton", **filters}).json()["facets"]
    assert facets["category"] == dict(Counter(hit["category"] for hit in body["hits"]))


def test_words_alone_page_by_cursor_and_collapse(client: TestClient, api_catalog: ApiCatalog) -> None:
    whole = search_words(client, q="cotton", k=20)
    first = search_words(client, q="cotton", k=8)
    second = search_words(client, q="cotton", k=8, cursor=first["next_cursor"])
    assert [h["id"] for h in first["hits"] + second["hits"]] == [h["id"] for h in whole["hits"][:16]]
    assert [h["text_rank"] for h in second["hits"]] == list(range(9, 17))
    collapsed = search_words(client, q="cotton", k=20, one_per_product="true")
    products = [hit["product_id"] for hit in collapsed["hits"]]
    cotton_products = {f"P{n // 2}" for n in range(len(api_catalog.items)) if n % 3 != 0}
    assert len(products) == len(set(products)) == len(cotton_products)
    image_cursor = upload(client, query_photo(api_catalog, "shoe"), k=3)["next_cursor"]
    refused = client.post("/v1/search", json={"q": "cotton", "k": 3, "cursor": image_cursor})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_cursor"


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"json": {"k": 3}},
        {"json": {"q": "   ", "category": ["dress"]}},
        {"files": [("k", (None, "3"))]},
        {"files": [("q", (None, ""))]},
    ],
)
def test_neither_photo_nor_words_is_a_clear_422(client: TestClient, request_kwargs: dict) -> None:
    response = client.post("/v1/search", **request_kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_field"
    assert "`q`" in response.json()["error"]["message"] and "image" in response.json()["error"]["message"]


def test_the_openapi_document_says_the_photo_is_optional(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/v1/search"]["post"]["requestBody"]["content"]
    assert "required" not in body["multipart/form-data"]["schema"]
    assert {"image", "q"} <= set(body["multipart/form-data"]["schema"]["properties"])


def test_the_reranker_reorders_the_first_candidates_by_their_stored_thumbnails(
    client: TestClient, api_catalog: ApiCatalog
) -> None:
    """Each re-ranker orders the same candidates: the photo itself stays first (SSIM 1, cosine 1), the set of the
    first rerank_depth candidates is unchanged, and the response names the re-ranker; the default is the server's."""
    photo = query_photo(api_catalog, "dress")

    def search(**fields: str) -> dict:
        files = {"image": ("q.jpg", photo, "image/jpeg")}
        response = client.post("/v1/search", files=files, data={"k": "20", **fields})
        assert response.status_code == 200, response.text
        return response.json()

    pages = {how: search(rerank=how) for how in ("none", "ssim", "ssim_cosine")}
    assert {how: page["rerank"] for how, page in pages.items()} == {how: how for how in pages}
    assert search()["rerank"] == "ssim_cosine"  # the server's default, learned, has no pair scorer here
    ids = {how: [hit["id"] for hit in page["hits"]] for how, page in pages.items()}
    assert len({ids[how][0] for how in ids}) == 1 and all(sorted(ids[how]) == sorted(ids["none"]) for how in ids)
    assert ids["ssim"] != ids["none"]  # SSIM alone reorders the 12 same-colour photos
    assert client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                       data={"rerank": "sharpest"}).status_code == 422  # fmt: skip


def ssim_only_scorer(model_version: str, dim: int) -> PairScorer:
    """A pair scorer that weighs SSIM alone (pair_features' second column): it must order as `ssim` does."""
    features = len(SCALAR_FEATURES) + dim
    weights = [0.0] * features
    weights[SCALAR_FEATURES.index("ssim")] = 1.0
    return PairScorer(model_version, weights, 0.0, [0.0] * features, [1.0] * features, k=20, trained_on={})


def test_the_learned_reranker_scores_the_candidates_with_their_stored_vectors(
    client: TestClient, api_catalog: ApiCatalog
) -> None:
    """With a pair scorer of the served model the learned re-ranker orders the candidates by its scores (one
    weighing SSIM alone orders as `ssim`); with a scorer of another model, ssim_cosine orders them instead."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    photo = query_photo(api_catalog, "shirt")

    def search(how: str) -> dict:
        response = client.post("/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")},
                               data={"k": "20", "rerank": how})  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    try:
        runtime.pair_scorer = ssim_only_scorer(runtime.embedder.version, runtime.embedder.dim)
        learned = search("learned")
        assert learned["rerank"] == "learned"
        assert [hit["id"] for hit in learned["hits"]] == [hit["id"] for hit in search("ssim")["hits"]]
        runtime.pair_scorer = ssim_only_scorer("another-model", runtime.embedder.dim)
        fallback = search("learned")
        assert fallback["rerank"] == "ssim_cosine"
        assert [hit["id"] for hit in fallback["hits"]] == [hit["id"] for hit in search("ssim_cosine")["hits"]]
    finally:
        runtime.pair_scorer = None
