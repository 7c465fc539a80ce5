"""Moving items indexed under the old identity (id = the photo's SHA-256) to the new one, `item_id(product, photo)`.

A legacy item is a Solr document without `photo_sha256`. Each is written again under its new id, with the vector
the collection holds for its old id, through `CatalogIndex.upsert` (so that a product's photos of older crawls go,
as they would in the stream); then the old id is deleted from both stores. Running it again only finds what is left.
"""

import logging
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
from tqdm import tqdm

from indexer.catalog_index import CatalogIndex
from indexer.item import CatalogItem, item_id
from indexer.retry import call_with_retry

logger = logging.getLogger(__name__)


@dataclass
class IdMigrationReport:
    """What a migration did: legacy items moved to their new id, and those skipped: of an older crawl of their
    product (deleted, as a newer crawl deletes them), or without a vector in the collection (left to
    `cbir reconcile`)."""

    model_version: str
    migrated: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data."""
        return asdict(self)


def new_identity(item: CatalogItem) -> CatalogItem:
    """A legacy item under its new id (its old id is its photo's SHA-256, which from_solr_document keeps)."""
    return item.model_copy(update={"id": item_id(item.product_id, item.photo_sha256)})


def migrate_item_ids(index: CatalogIndex, page_size: int = 500, progress: bool = True) -> IdMigrationReport:
    """Move every legacy item of the index's model version to its new id, page by page; flush at the end."""
    report = IdMigrationReport(model_version=index.vectors.model_version)
    with tqdm(desc="migrating ids", unit="item", disable=not progress) as bar:
        for legacy in index.metadata.legacy_items(report.model_version, page_size):
            _migrate_page(index, legacy, report)
            bar.update(len(legacy))
    index.flush()
    logger.info("id migration of %s: %s", report.model_version, report)
    return report


def _migrate_page(index: CatalogIndex, legacy: list[CatalogItem], report: IdMigrationReport) -> None:
    """Write the legacy items that have a vector under their new ids, then delete their old ids."""
    get = partial(index.vectors.get_vectors, [item.id for item in legacy])
    vectors = call_with_retry(get, index.retry, "Milvus get")
    movable = [item for item in legacy if item.id in vectors]
    report.skipped += len(legacy) - len(movable)
    if not movable:
        return
    stale = index.upsert([new_identity(item) for item in movable], np.stack([vectors[item.id] for item in movable]))
    index.delete([item.id for item in movable])
    report.migrated += len(movable) - len(stale)
    report.skipped += len(stale)
