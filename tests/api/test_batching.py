import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from api.batching import MicroBatcher
from api.metrics import ApiMetrics
from api.runtime import Runtime
from api.timings import Timings
from embedder import Embedder
from indexer.item import CatalogItem, item_id, photo_sha256
from indexer.vector_store import VectorStore
from settings import Settings
from tests.api.conftest import ApiCatalog
from tests.indexer.conftest import DIM, unit_vectors
from tests.synthetic import COLOURS, coloured_image


class SlowDouble:
    """A batch function that records each batch and takes a while, like a forward pass."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.batches: list[list[int]] = []
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.batches.append(list(items))
        time.sleep(self.seconds)
        return [2 * item for item in items]


async def submit_all(batcher: MicroBatcher[int, int], items: list[int]) -> list[int]:
    return list(await asyncio.gather(*(batcher.submit(item) for item in items)))


def test_a_lone_request_runs_at_once_without_waiting() -> None:
    batch = SlowDouble(seconds=0.0)
    batcher = MicroBatcher(batch, max_wait_s=1.0)

    async def one() -> tuple[int, float]:
        started = time.perf_counter()
        return await batcher.submit(21), time.perf_counter() - started

    result, elapsed = asyncio.run(one())
    assert result == 42
    assert batch.batches == [[21]]
    assert elapsed < 0.5  # the 1 s max_wait is not spent on a lone request


def test_concurrent_requests_share_batches_and_get_their_own_results() -> None:
    batch = SlowDouble()
    batcher = MicroBatcher(batch, max_batch=8, max_wait_s=0.005)
    results = asyncio.run(submit_all(batcher, list(range(20))))
    assert results == [2 * item for item in range(20)]
    assert [len(b) for b in batch.batches] == [1, 8, 8, 3]  # the first alone, then the queue in full batches
    assert sorted(item for b in batch.batches for item in b) == list(range(20))


def test_several_batches_run_at_once_up_to_max_in_flight() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def tracked(items: list[int]) -> list[int]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return [2 * item for item in items]

    with ThreadPoolExecutor(4) as executor:
        batcher = MicroBatcher(tracked, executor, max_batch=4, max_wait_s=0.0, max_in_flight=2)
        results = asyncio.run(submit_all(batcher, list(range(10))))
        sizes = list(batcher.batch_sizes)
    assert results == [2 * item for item in range(10)]
    assert most == 2  # two slots used at once, never three
    assert sizes == [1, 1, 4, 4]  # two lone requests fill the idle slots; the queue follows in full batches


def test_a_failing_batch_fails_each_of_its_requests() -> None:
    def fail(items: list[int]) -> list[int]:
        raise ValueError("broken batch")

    batcher: MicroBatcher[int, int] = MicroBatcher(fail)

    async def run() -> list[int | BaseException]:
        return await asyncio.gather(*(batcher.submit(item) for item in range(3)), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)


def test_a_cancelled_request_does_not_break_the_others() -> None:
    batch = SlowDouble()
    batcher = MicroBatcher(batch, max_batch=8)

    async def run() -> list[int]:
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0)
        doomed = asyncio.ensure_future(batcher.submit(2))
        rest = [asyncio.ensure_future(batcher.submit(item)) for item in (3, 4)]
        await asyncio.sleep(0)
        doomed.cancel()
        return [await first, *[await task for task in rest]]

    assert asyncio.run(run()) == [2, 6, 8]
    assert [2] not in batch.batches


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(SlowDouble(), max_batch=0)


def test_batched_forward_pass_matches_one_image_at_a_time(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint, batch_size=16, threads=1)
    photos = [coloured_image(colour, seed=seed) for colour in COLOURS for seed in range(4)]
    pixels = [embedder.pixels([photo])[0] for photo in photos]  # (C, H, W) uint8 each
    batcher = MicroBatcher(lambda images: embedder.embed_pixels(np.stack(images)), max_batch=16, max_wait_s=0.005)

    async def run() -> list[np.ndarray]:
        return list(await asyncio.gather(*(batcher.submit(image) for image in pixels)))

    batched = np.stack(asyncio.run(run()))
    alone = np.concatenate([embedder.embed_pixels(image[None]) for image in pixels])
    assert max(batcher.batch_sizes) > 1
    np.testing.assert_allclose(batched, alone, atol=1e-5)


@pytest.fixture
def vector_store(milvus_uri: str) -> Iterator[VectorStore]:
    """A fresh collection of 200 random 8-d items on the test Milvus, dropped after the test."""
    store = VectorStore.connect(milvus_uri, f"test-{uuid.uuid4().hex[:8]}", DIM)
    items = [
        CatalogItem(
            id=item_id(f"P{n}", photo_sha256(f"image-{n}".encode())), photo_sha256=photo_sha256(f"image-{n}".encode()),
            product_id=f"P{n}", title=f"Shirt {n}", brand="Acme",
            category="shirt", colour="blue", price=10.0 + n, currency="EUR", product_url=f"https://shop.example/p/{n}",
            image_url=f"https://shop.example/img/{n}.jpg", source_site="shop.example",
            crawled_at=datetime(2026, 1, 2, tzinfo=UTC), in_stock=True, model_version=store.model_version,
        )
        for n in range(200)
    ]  # fmt: skip
    store.upsert(items, unit_vectors(200))
    store.flush()
    yield store
    store.drop()


@pytest.mark.integration
def test_batched_milvus_search_matches_single_searches(vector_store: VectorStore) -> None:
    queries = list(unit_vectors(12, seed=7))
    batcher = MicroBatcher(lambda qs: vector_store.search_batch(np.stack(qs), k=5), max_batch=8, max_wait_s=0.005)

    async def run() -> list[list[str]]:
        hits = await asyncio.gather(*(batcher.submit(query) for query in queries))
        return [[hit.id for hit in row] for row in hits]

    batched = asyncio.run(run())
    single = [[hit.id for hit in vector_store.search(query, k=5)] for query in queries]
    assert max(batcher.batch_sizes) > 1
    assert batched == single


@pytest.mark.integration
def test_concurrent_api_searches_share_embedding_and_milvus_calls(
    api_settings: Settings, api_catalog: ApiCatalog
) -> None:
    """The runtime's query path: concurrent photos share forward passes and Milvus calls, each result its own."""
    runtime = Runtime.open(api_settings, ApiMetrics())
    photos = list(api_catalog.photos.values())[:12]

    async def one(photo: bytes) -> list[str]:
        vector = await runtime.queries.embed(photo, runtime.embedder, Timings())
        hits = await runtime.queries.search_vectors(vector, runtime.stores.serving, 5, None, Timings())
        return [hit.id for hit in hits]

    async def run() -> list[list[str]]:
        return list(await asyncio.gather(*(one(photo) for photo in photos)))

    try:
        together = asyncio.run(run())
        apart = [asyncio.run(one(photo)) for photo in photos]
        search_sizes = [size for batcher in runtime.queries.searches.values() for size in batcher.batch_sizes]
    finally:
        runtime.close()
    assert together == apart
    assert max(runtime.queries.forward.batch_sizes) > 1 and max(search_sizes) > 1
    assert [ids[0] for ids in together] == list(api_catalog.photos)[:12]  # each finds itself
