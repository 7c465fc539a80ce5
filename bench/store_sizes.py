"""Bytes per item in Solr and in the photo store, measured by indexing real photos, and what a Kafka message
of one photo weighs: the figures `docs/sizing.md` scales per million items.

Needs a running stack (`make stack-up`). Indexes the folder with `bulk_load` (as `cbir index-folder` does) into a
collection prefix of its own and a temporary photo store, forces Solr to merge its segments before and after, and
reads the core's index size from the core admin API; removes what it wrote afterwards.

    .venv/bin/python -m bench.store_sizes --model models/catalog.pt --catalog ../shared/datasets/clothing-small/train
"""

import base64
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer

from bench.report_file import write_report
from embedder import Embedder
from indexer.bulk_load import bulk_load
from indexer.catalog_index import CatalogIndex
from indexer.folder_images import list_class_folder
from indexer.photo_store import PhotoStore
from settings import resolve_settings

app = typer.Typer(add_completion=False)


def core_status(core_url: str) -> dict[str, int]:
    """The core's document count and index size on disk, after merging its segments (deleted documents gone)."""
    base, core = core_url.rstrip("/").rsplit("/", 1)
    with httpx.Client(timeout=300) as http:
        http.get(f"{core_url}/update", params={"optimize": "true", "waitSearcher": "true"}).raise_for_status()
        status = http.get(f"{base}/admin/cores", params={"action": "STATUS", "core": core, "wt": "json"})
        status.raise_for_status()
    index = status.json()["status"][core]["index"]
    return {"docs": int(index["numDocs"]), "bytes": int(index["sizeInBytes"])}


def folder_bytes(root: Path) -> int:
    """Total size of the files under root."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@app.command()
def main(
    model: Annotated[Path, typer.Option(help="Embedder checkpoint")] = Path("models/catalog.pt"),
    catalog: Annotated[Path, typer.Option(help="A <category>/<image> folder to index")] = Path(
        "../shared/datasets/clothing-small/train"
    ),
    out: Annotated[Path, typer.Option(help="JSON report")] = Path("reports/bench-store-sizes.json"),
) -> None:
    """Index the folder, measure what each store holds per item, and write the report."""
    settings = resolve_settings()
    stores = settings.stores.model_copy(update={"milvus_collection_prefix": "sizebench"})
    embedder = Embedder.load(model)
    images = list_class_folder(catalog)
    index = CatalogIndex.from_settings(stores, settings.indexer, embedder.version, embedder.dim)
    existing = index.metadata.all_ids()
    before = core_status(stores.solr_core_url)
    with tempfile.TemporaryDirectory() as photo_root:
        try:
            loaded = bulk_load(images, embedder, index, photos=PhotoStore(Path(photo_root)))
            after = core_status(stores.solr_core_url)
            photo_bytes = folder_bytes(Path(photo_root))
        finally:
            index.metadata.delete(sorted(index.metadata.all_ids() - existing))  # only what this run added
            index.vectors.drop()
    items = after["docs"] - before["docs"]
    if items != loaded.indexed:
        raise SystemExit(
            f"Solr gained {items} documents for {loaded.indexed} photos: the core already held some of them "
            "(index the folder into an empty stack, e.g. right after `make stack-up`)"
        )
    sizes = np.array([image.path.stat().st_size for image in images], dtype=np.float64)
    # what a crawler's upsert of one photo carries: the photo in base64 plus its metadata fields
    sample_fields = {"product_id": "P" * 12, "title": "x" * 40, "brand": "x" * 12, "category": "dress",
                     "colour": "black", "price": 49.9, "currency": "EUR", "product_url": "https://shop/p/" + "x" * 24,
                     "image_url": "https://shop/i/" + "x" * 24, "source_site": "shop.example",
                     "crawled_at": "2026-12-06T00:00:00Z", "in_stock": True}  # fmt: skip
    metadata_bytes = len(json.dumps(sample_fields))
    report: dict[str, Any] = {
        "command": "python -m bench.store_sizes " + " ".join(sys.argv[1:]),
        "model_version": embedder.version,
        "photos": len(images),
        "indexed": loaded.indexed,
        "solr": {
            **{f"before_{k}": v for k, v in before.items()},
            **{f"after_{k}": v for k, v in after.items()},
            "bytes_per_item": (after["bytes"] - before["bytes"]) / items,
        },
        "photo_store_bytes_per_item": photo_bytes / items,
        "photo_file_bytes": {
            "mean": float(sizes.mean()),
            "p50": float(np.percentile(sizes, 50)),
            "p99": float(np.percentile(sizes, 99)),
        },
        "kafka_message_bytes_per_photo_mean": float(len(base64.b64encode(b"x" * int(sizes.mean())))) + metadata_bytes,
    }
    write_report(out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    app()
