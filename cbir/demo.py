"""The demo on the streaming path: stack up, ingest topology, publish the catalog to Kafka, wait until every photo is
searchable, then show the best catalog matches of a few query photos, ranked by the API's own search code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from api.catalog_search import PageRequest, search_page
from api.metrics import ApiMetrics
from api.runtime import Runtime
from api.schemas import SearchResponse
from api.timings import Timings
from devstack.launcher import Stack
from devstack.settings import StackSettings
from embedder import Embedder
from embedder.data.image_folder import folder_photos
from indexer.catalog_index import CatalogIndex
from indexer.item import item_id, photo_sha256
from ingest.folder_catalog import demo_message
from ingest.publisher import CatalogPublisher
from settings import Settings, StoreSettings, resolve_settings
from topologies.ingest.runner import background_topology, start_background_topology

Echo = Callable[[str], None]
TOPOLOGY_DURATION_S = 30 * 24 * 3600


class DemoStalled(RuntimeError):
    """The topology stopped making photos searchable before the whole catalog was."""


def start_pipeline(stack: StackSettings, model: Path | None, echo: Echo) -> tuple[CatalogIndex, Embedder, Settings]:
    """The stack up and the ingest topology running in the background; the index, the model, the settings
    (resolved once the stack has recorded its ports)."""
    echo("starting the stack (Kafka, Solr, Milvus) ...")
    Stack(stack).up()
    stack = stack.with_saved_ports()
    settings = resolve_settings({"embedding": {"model_path": model}}, stack.run_dir)
    running = background_topology(stack)
    if running is None:
        record, log = start_background_topology(stack, settings, TOPOLOGY_DURATION_S)
        echo(f"ingest topology started in Storm LocalCluster (PID {record.pid}, log {log})")
    else:
        echo(f"ingest topology already running (PID {running.pid})")
    embedder = Embedder.load(settings.embedding.model_path)
    index = CatalogIndex.from_settings(settings.stores, settings.indexer, embedder.version, embedder.dim)
    return index, embedder, settings


def publish_missing(index: CatalogIndex, catalog: Path, stores: StoreSettings, echo: Echo) -> dict[str, Path]:
    """Publish to Kafka the catalog photos not searchable yet; returns every catalog photo by item id."""
    photos = {_item_id(path, catalog): path for path in folder_photos(catalog)}
    searchable = index.metadata.searchable_ids(list(photos))
    missing = [path for identity, path in photos.items() if identity not in searchable]
    echo(f"{len(photos) - len(missing)} of {len(photos)} catalog photos already searchable; publishing {len(missing)}")
    with CatalogPublisher(stores, topic=stores.topic) as publisher:
        for count, path in enumerate(tqdm(missing, desc="publish to Kafka", unit="photo"), start=1):
            publisher.publish(demo_message(path, catalog))
            if count % 200 == 0:
                publisher.flush()  # confirmed deliveries; bounds what waits in memory
    return photos


def _item_id(path: Path, catalog: Path) -> str:
    """The item id of a catalog photo once published (demo_message gives its product id)."""
    return item_id(demo_message(path, catalog, inline=False).product_id, photo_sha256(path.read_bytes()))


def wait_searchable(index: CatalogIndex, ids: list[str], stall_timeout_s: float = 180) -> float:
    """Wait, with a progress bar, until every id is searchable; DemoStalled if none arrives for stall_timeout_s."""
    started = last_progress = time.monotonic()
    found: set[str] = set()
    with tqdm(total=len(ids), desc="searchable", unit="photo") as bar:
        while len(found) < len(ids):
            new = index.metadata.searchable_ids([i for i in ids if i not in found])
            if new:
                found |= new
                bar.update(len(new))
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_timeout_s:
                raise DemoStalled(f"{len(found)} of {len(ids)} searchable, none more for {stall_timeout_s:.0f} s")
            time.sleep(0.5)
    return time.monotonic() - started


def show_matches(settings: Settings, embedder: Embedder, queries: Path, count: int, top: int) -> list[str]:
    """The top catalog matches of `count` query photos spread over the folder, searched as the API searches."""
    paths = folder_photos(queries)
    picks = [paths[i] for i in np.linspace(0, len(paths) - 1, count).astype(int)]
    vectors = embedder.embed([path.read_bytes() for path in picks])  # (Q, D)
    lines = []
    for path, page in zip(picks, asyncio.run(_first_pages(settings, embedder, vectors, top)), strict=True):
        lines.append(f"\nquery {path.parent.name}/{path.name}:")
        for rank, hit in enumerate(page.hits, 1):
            mark = "✓" if hit.category == path.parent.name else "✗"
            lines.append(
                f"  {rank}. {mark} {hit.category:<11} score {hit.score:.3f}  {hit.title} by {hit.brand}, "
                f"{hit.price:.2f} {hit.currency}"
            )
    return lines


async def _first_pages(settings: Settings, embedder: Embedder, vectors: np.ndarray, top: int) -> list[SearchResponse]:
    """The first page of results of each query vector, from the API's search over the demo's stores."""
    runtime = Runtime(settings, embedder, ApiMetrics())
    page = PageRequest(search_filter=None, text=None, k=top, offset=0, fingerprint="demo")
    try:
        return await asyncio.gather(*(search_page(runtime, vector, page, Timings()) for vector in vectors))
    finally:
        runtime.close()


def run_demo(stack: StackSettings, model: Path | None, catalog: Path, queries: Path, count: int, echo: Echo) -> None:
    """The whole demo, printing as it goes; the stack and topology keep running afterwards."""
    index, embedder, settings = start_pipeline(stack, model, echo)
    photos = publish_missing(index, catalog, settings.stores, echo)
    seconds = wait_searchable(index, list(photos))
    index.flush()
    echo(
        f"all {len(photos)} catalog photos searchable in Milvus ({index.vectors.count()} vectors of model "
        f"{embedder.version}) and Solr, {seconds:.1f} s after publishing"
    )
    for line in show_matches(settings, embedder, queries, count, top=5):
        echo(line)
    api = settings.api
    photo = folder_photos(queries)[0].resolve()
    echo(f"\nnext, `cbir api serve` (make demo runs it): the shopper page on http://{api.host}:{api.port}/ and e.g.")
    echo(f"  curl -s -F image=@{photo} -F k=5 -F category={photo.parent.name} http://{api.host}:{api.port}/v1/search")
