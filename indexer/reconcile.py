"""Reconciliation: the ids only one store holds (orphans), found by comparing both, and their repair."""

import logging
import time
from dataclasses import dataclass

from indexer.catalog_index import CatalogIndex
from indexer.retry import call_with_retry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Orphans:
    """Ids in the active Milvus collection but not in Solr, and ids of its model version in Solr but not in Milvus."""

    milvus_only: frozenset[str]
    solr_only: frozenset[str]

    @property
    def count(self) -> int:
        """How many orphans in all."""
        return len(self.milvus_only) + len(self.solr_only)


def find_orphans(index: CatalogIndex) -> Orphans:
    """Compare the ids of both stores now (Solr made current first)."""
    call_with_retry(index.metadata.refresh, index.retry, "Solr commit")
    vector_ids = call_with_retry(index.vectors.all_ids, index.retry, "Milvus ids")
    version = index.vectors.model_version
    metadata_ids = call_with_retry(lambda: index.metadata.all_ids(version), index.retry, "Solr ids")
    return Orphans(frozenset(vector_ids - metadata_ids), frozenset(metadata_ids - vector_ids))


def settled_orphans(index: CatalogIndex, settle_s: float = 5.0) -> Orphans:
    """The orphans found twice, settle_s apart: a write in flight between the stores is not an orphan."""
    first = find_orphans(index)
    if first.count == 0:
        return first
    time.sleep(settle_s)
    second = find_orphans(index)
    return Orphans(first.milvus_only & second.milvus_only, first.solr_only & second.solr_only)


def repair(index: CatalogIndex, orphans: Orphans) -> None:
    """Delete both kinds of orphan: a vector without metadata cannot be shown, metadata without a vector cannot
    be found by image (its product is re-published by its crawler, or `cbir dlq replay`, to come back)."""
    milvus_only, solr_only = sorted(orphans.milvus_only), sorted(orphans.solr_only)
    if milvus_only:
        call_with_retry(lambda: index.vectors.delete(milvus_only), index.retry, "Milvus delete")
    if solr_only:
        call_with_retry(lambda: index.metadata.delete(solr_only), index.retry, "Solr delete")
    logger.info("repaired %d Milvus and %d Solr orphans", len(milvus_only), len(solr_only))
