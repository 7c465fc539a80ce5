"""Reconciliation: the ids only one store holds (orphans), found by comparing both, and their repair."""

import logging
import time
from collections.abc import Callable
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

    def also_in(self, later: "Orphans") -> "Orphans":
        """The orphans found both here and in a later look."""
        return Orphans(self.milvus_only & later.milvus_only, self.solr_only & later.solr_only)


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
    return first.also_in(find_orphans(index))


class ReconcileSchedule:
    """When a long-running process looks for orphans: every interval_s, without ever sleeping.

    A look that finds none is the result; one that finds some is confirmed by a second look at least settle_s
    later (the next `run` call after that), and only ids orphaned both times count, as in settled_orphans.
    """

    def __init__(self, interval_s: float, settle_s: float, now: float) -> None:
        self.interval_s, self.settle_s = interval_s, settle_s
        self.next_at = now + interval_s
        self.first: Orphans | None = None  # a first look waiting for its confirmation
        self.first_at = 0.0

    def due(self, now: float) -> bool:
        """Whether run(now) would look."""
        return now >= (self.first_at + self.settle_s if self.first is not None else self.next_at)

    def run(self, now: float, look: Callable[[], Orphans]) -> Orphans | None:
        """Look if due; the settled orphans when a check completes, else None. If look raises, the check is
        abandoned until the next interval (and the error propagates)."""
        if not self.due(now):
            return None
        first, self.first = self.first, None
        self.next_at = now + self.interval_s
        found = look()
        if first is None and found.count:
            self.first, self.first_at = found, now
            return None
        return found if first is None else first.also_in(found)


def repair(index: CatalogIndex, orphans: Orphans) -> None:
    """Delete both kinds of orphan: a vector without metadata cannot be shown, metadata without a vector cannot
    be found by image (its product is re-published by its crawler, or `cbir dlq replay`, to come back)."""
    milvus_only, solr_only = sorted(orphans.milvus_only), sorted(orphans.solr_only)
    if milvus_only:
        call_with_retry(lambda: index.vectors.delete(milvus_only), index.retry, "Milvus delete")
    if solr_only:
        call_with_retry(lambda: index.metadata.delete(solr_only), index.retry, "Solr delete")
    logger.info("repaired %d Milvus and %d Solr orphans", len(milvus_only), len(solr_only))
