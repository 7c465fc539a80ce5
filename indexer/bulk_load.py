"""Bulk-loading photos into the catalog index in batches: the backfill path beside the streaming one.

Each batch is read, decoded, embedded in one forward pass and written to both stores with one
`CatalogIndex.upsert`. Item ids come from the product and the photo's bytes, so a re-run overwrites the same
items. A photo that cannot be read or decoded is logged, counted and skipped; a store failure (after the index's
retries) stops the load, and running it again is safe.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from embedder import Embedder, EmbedderError
from embedder.rerank import thumbnail_text
from indexer.catalog_index import CatalogIndex
from indexer.folder_images import FolderImage
from indexer.item import CatalogItem, item_id, photo_sha256
from indexer.photo_store import PhotoStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedImage:
    """A photo that was not loaded, and why."""

    path: str
    reason: str


@dataclass
class BulkLoadReport:
    """What a bulk load did, and how many items each store holds for the model afterwards."""

    model_version: str
    indexed: int = 0
    duplicates: int = 0
    skipped: list[SkippedImage] = field(default_factory=list)
    seconds: float = 0.0
    vector_count: int = 0
    metadata_count: int = 0

    @property
    def images_per_s(self) -> float:
        """Photos indexed per second of the whole load (reading, decoding, embedding and writing)."""
        return self.indexed / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return {**asdict(self), "skipped_count": len(self.skipped), "images_per_s": round(self.images_per_s, 1)}


@dataclass
class _Batch:
    """The photos of one batch that are ready to embed: their items and pixels (N, C, H, W)."""

    items: list[CatalogItem] = field(default_factory=list)
    pixels: list[np.ndarray] = field(default_factory=list)


def bulk_load(
    images: Sequence[FolderImage],
    embedder: Embedder,
    index: CatalogIndex,
    batch_size: int = 64,
    progress: bool = True,
    photos: PhotoStore | None = None,
) -> BulkLoadReport:
    """Embed and index the photos in batches, then flush both stores and count what they hold; each photo is
    kept in the photo store first, if one is given (what a model promotion re-embeds from)."""
    started = time.monotonic()
    report = BulkLoadReport(model_version=embedder.version)
    seen: set[str] = set()
    with tqdm(total=len(images), desc="indexing", unit="img", disable=not progress) as bar:
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = _prepare(chunk, embedder, seen, report, photos)
            if batch.items:
                index.upsert(batch.items, embedder.embed_pixels(np.stack(batch.pixels)))  # (N, D)
                report.indexed += len(batch.items)
            bar.update(len(chunk))
    index.flush()
    report.seconds = time.monotonic() - started
    report.vector_count = index.vectors.count()
    report.metadata_count = index.metadata.count()
    return report


def _prepare(
    chunk: Sequence[FolderImage], embedder: Embedder, seen: set[str], report: BulkLoadReport, photos: PhotoStore | None
) -> _Batch:
    """Read and decode each photo of the chunk; skip (and count) unreadable ones and repeats of earlier ones."""
    batch = _Batch()
    for image in chunk:
        try:
            data = image.path.read_bytes()
            fields, photo = image.catalog_fields(data), photo_sha256(data)
            identity = item_id(fields["product_id"], photo)
            if identity in seen:
                report.duplicates += 1
                continue
            pixels = embedder.pixels([data])[0]  # (C, H, W) uint8
            thumbnail = thumbnail_text(data)
        except (OSError, EmbedderError) as error:
            logger.warning("skipping %s: %s", image.path, error)
            report.skipped.append(SkippedImage(str(image.path), str(error)))
            continue
        seen.add(identity)
        if photos is not None:
            photos.put(data, photo)
        item = CatalogItem(
            id=identity, photo_sha256=photo, model_version=embedder.version, thumbnail=thumbnail, **fields
        )
        batch.items.append(item)
        batch.pixels.append(pixels)
    return batch
