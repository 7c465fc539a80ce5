"""The public edge under pressure: per-client rate limits (429), bounded pools that shed (503), slow image servers."""

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limit import TokenBuckets
from devstack.launcher import Stack
from devstack.process import PidFile
from embedder import Embedder
from indexer.errors import IndexerError
from indexer.vector_store import VectorStore
from settings import Settings
from tests.api.conftest import API_KEY, ApiCatalog, LiveServer, query_photo
from tests.api.test_items import message
from tests.ingest.image_servers import ImageServer, image_server
from tests.ingest.kafka_helpers import unique_topic

logger = logging.getLogger(__name__)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_allow_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate_per_s=2, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0  # another client has its own bucket
    clock.now = 0.5
    assert buckets.take("a") == 0 and buckets.take("a") > 0


def test_token_buckets_forget_the_least_recent_clients() -> None:
    buckets = TokenBuckets(rate_per_s=1, burst=1, max_clients=2, clock=FakeClock())
    for client in ("a", "b", "c"):
        assert buckets.take(client) == 0
    assert buckets.take("a") == 0  # forgotten, so a full bucket again
    assert buckets.take("c") > 0


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drip_server() -> Iterator[ImageServer]:
    with image_server() as server:
        yield server


def multipart(photo: bytes) -> dict:
    return {"files": {"image": ("q.jpg", photo, "image/jpeg")}}


def test_search_and_publish_have_separate_per_client_limits(api_settings: Settings, api_catalog: ApiCatalog) -> None:
    settings = api_settings.changed(
        api={"search_rate_per_s": 0.1, "search_burst": 2, "publish_rate_per_s": 0.1, "publish_burst": 1},
        stores={"topic": unique_topic("api-limits")},  # the session topic's first record belongs to test_items
    )  # fmt: skip
    photo = query_photo(api_catalog, "dress")
    with TestClient(create_app(settings)) as client:
        searches = [client.post("/v1/search", **multipart(photo)).status_code for _ in range(3)]
        limited = client.get("/v1/facets")
        published = client.post("/v1/items", json=message("P-limit-1"), headers={"X-API-Key": API_KEY})
        refused = client.post("/v1/items", json=message("P-limit-2"), headers={"X-API-Key": API_KEY})
        metrics = client.get("/metrics").text
        health = client.get("/healthz")
    assert searches == [200, 200, 429]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert published.status_code == 202 and refused.status_code == 429 and "retry-after" in refused.headers
    assert 'cbir_api_rate_limited_total{limit="search"} 2.0' in metrics
    assert 'cbir_api_rate_limited_total{limit="publish"} 1.0' in metrics
    assert health.status_code == 200


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response | None, float]:
    """The response (None on a client-side timeout) and its latency in seconds."""
    started = time.perf_counter()
    try:
        return call(), time.perf_counter() - started
    except httpx.TimeoutException:
        return None, time.perf_counter() - started


def test_a_flood_of_slow_image_urls_is_shed_and_the_api_keeps_answering(
    api_settings: Settings, api_catalog: ApiCatalog, drip_server: ImageServer
) -> None:
    """16 image_url searches at a server dripping a byte every 0.2 s: 2 fetch threads + 2 queued, the rest get 503
    with Retry-After at once; the admitted ones fail at the 2 s deadline; /healthz and uploads keep answering."""
    settings = api_settings.changed(api={"fetch_workers": 2, "fetch_queue": 2}, fetch={"timeout_s": 2.0})
    slow = {"image_url": f"{drip_server.url}/drip-body"}
    photo = query_photo(api_catalog, "shirt")
    with (
        LiveServer(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=15) as http,
        ThreadPoolExecutor(16) as pool,
    ):
        flood = [pool.submit(timed, lambda: http.post("/v1/search", json=slow)) for _ in range(16)]
        time.sleep(0.5)
        health, health_s = timed(lambda: http.get("/healthz"))
        search, search_s = timed(lambda: http.post("/v1/search", **multipart(photo)))
        results = [future.result() for future in flood]
    assert health is not None and health.status_code == 200 and health_s < 1.0
    assert search is not None and search.status_code == 200 and search_s < 5.0
    statuses = sorted(response.status_code if response else 0 for response, _ in results)
    assert statuses == [422] * 4 + [503] * 12
    for response, seconds in results:
        assert response is not None
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "overloaded" and response.headers["retry-after"] == "1"
            assert seconds < 1.5
        else:
            assert response.json()["error"]["code"] == "image_unavailable" and seconds < 6.0


def client_from(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections come from a loopback address of its own: a distinct client to the API."""
    return httpx.Client(base_url=base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address))


def test_load_above_capacity_is_refused_with_retry_after_and_served_requests_stay_fast(
    api_settings: Settings, api_catalog: ApiCatalog
) -> None:
    """8 clients (8 loopback addresses) searching back to back for 3 s, above both the per-client limit and the
    embedding capacity: every request is served, or refused at once with 429/503 and Retry-After; none times out;
    the p99 of the served ones stays within 2 s."""
    settings = api_settings.changed(
        api={"search_rate_per_s": 5.0, "search_burst": 5, "embed_workers": 1, "embed_queue": 2}
    )
    photo = query_photo(api_catalog, "dress")
    with LiveServer(create_app(settings)) as server:
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            runs = list(pool.map(lambda n: search_for(client_from(f"127.0.1.{n}", server.url), photo, 3.0), range(8)))
        elapsed = time.perf_counter() - started
    results = [result for run in runs for result in run]
    served = sorted(seconds for response, seconds in results if response is not None and response.status_code == 200)
    shed = [response for response, _ in results if response is not None and response.status_code in (429, 503)]
    assert all(response is not None for response, _ in results), "a request timed out"
    assert len(served) + len(shed) == len(results)
    assert shed and all(response.headers.get("retry-after") for response in shed)
    p99 = served[min(len(served) - 1, int(len(served) * 0.99))]
    logger.info(
        "load: offered %.1f req/s, served %.1f req/s, shed %.0f%% (429: %d, 503: %d), served p99 %.0f ms",
        len(results) / elapsed, len(served) / elapsed, 100 * len(shed) / len(results),
        sum(r.status_code == 429 for r in shed), sum(r.status_code == 503 for r in shed), p99 * 1000,
    )  # fmt: skip
    assert p99 < 2.0


def search_for(http: httpx.Client, photo: bytes, duration_s: float) -> list[tuple[httpx.Response | None, float]]:
    """Back-to-back searches for duration_s: each response (None on timeout) and its latency."""
    results = []
    with http:
        deadline = time.perf_counter() + duration_s
        while time.perf_counter() < deadline:
            results.append(timed(lambda: http.post("/v1/search", **multipart(photo))))
    return results


def test_a_hung_milvus_fails_a_search_within_the_store_timeout(
    stack: Stack, milvus_uri: str, api_catalog: ApiCatalog, api_settings: Settings
) -> None:
    """Milvus stopped (SIGSTOP) mid-session: a search gives up after the 1 s per-call timeout, not never."""
    dim = Embedder.load(api_settings.embedding.model_path).dim
    store = VectorStore.from_settings(
        api_settings.stores.model_copy(update={"timeout_s": 1.0}), api_catalog.model_version, dim
    )
    record = PidFile(stack.settings.run_dir, "milvus").read()
    assert record is not None
    os.killpg(record.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(IndexerError):
            store.search(np.ones(dim, dtype=np.float32), k=3)
        assert time.monotonic() - started < 5.0
    finally:
        os.killpg(record.pid, signal.SIGCONT)
    assert store.search(np.ones(dim, dtype=np.float32), k=3)
