"""The catalog index: items written to both stores (vectors to Milvus, metadata to Solr) as one operation."""

import logging
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from indexer.errors import IncompleteWrite, IndexerError, StoreRequestRejected
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore
from indexer.retry import RetryPolicy, call_with_retry
from indexer.settings import IndexerSettings
from indexer.vector_store import VectorIndexConfig, VectorStore

logger = logging.getLogger(__name__)


def _crawled(item: CatalogItem) -> datetime:
    """When an item was crawled, to the second (the precision Solr stores)."""
    return item.crawled_at.replace(microsecond=0)


class CatalogIndex:
    """Writes go to Milvus then Solr; a write is complete only when both have it, and is safe to repeat."""

    def __init__(self, vectors: VectorStore, metadata: MetadataStore, retry: RetryPolicy | None = None) -> None:
        self.vectors = vectors
        self.metadata = metadata
        self.retry = retry or RetryPolicy()

    @classmethod
    def from_settings(cls, settings: IndexerSettings, dim: int) -> "CatalogIndex":
        """Connect both stores as configured, creating the collection of settings.model_version and dim."""
        retry = settings.retry_policy()
        index = VectorIndexConfig(
            index_type=settings.index_type,
            metric_type=settings.metric_type,
            build_params=settings.index_build_params,
            search_params=settings.index_search_params,
        )
        vectors = call_with_retry(
            lambda: VectorStore.connect(
                settings.milvus_uri, settings.model_version, dim, timeout_s=settings.timeout_s,
                index=index, batch_size=settings.batch_size,
            ),
            retry, "connect to Milvus",
        )  # fmt: skip
        metadata = call_with_retry(
            lambda: MetadataStore.connect(
                settings.solr_core_url, timeout_s=settings.timeout_s,
                batch_size=settings.batch_size, commit_within_ms=settings.solr_commit_within_ms,
            ),
            retry, "connect to Solr",
        )  # fmt: skip
        return cls(vectors, metadata, retry)

    def upsert(self, items: Sequence[CatalogItem], vectors: NDArray[np.float32]) -> list[str]:
        """Write items and their (N, D) vectors to both stores, Milvus first; returns the ids skipped as stale.

        An item older (crawled_at) than the stored version of its id, or than another of its id in the batch, is
        skipped, so a late or replayed message cannot restore an old version. If Solr refuses the batch, its ids
        are deleted from both stores and StoreRequestRejected is raised: a refused item is in neither store, and
        the caller dead-letters it. If Solr is unreachable, IncompleteWrite: retry the batch (it is idempotent).
        """
        wrong_version = {item.model_version for item in items} - {self.vectors.model_version}
        if wrong_version:
            raise ValueError(f"items of model {sorted(wrong_version)} sent to the {self.vectors.model_version} index")
        fresh = self._fresh_positions(items)
        stale = [item.id for position, item in enumerate(items) if position not in fresh]
        items, vectors = [items[p] for p in fresh], np.asarray(vectors)[fresh]
        if not items:
            return stale
        call_with_retry(lambda: self.vectors.upsert(items, vectors), self.retry, "Milvus upsert")
        try:
            call_with_retry(lambda: self.metadata.add(items), self.retry, "Solr add")
        except StoreRequestRejected:
            self.delete([item.id for item in items])
            raise
        except IndexerError as error:
            raise IncompleteWrite(
                f"{len(items)} items are in Milvus but not in Solr ({error}); retry the batch"
            ) from error
        return stale

    def _fresh_positions(self, items: Sequence[CatalogItem]) -> list[int]:
        """Positions of the newest item of each id in the batch, unless Solr holds a newer version of it."""
        stored = self.get([item.id for item in items])
        newest: dict[str, int] = {}
        for position, item in enumerate(items):
            if item.id not in newest or _crawled(item) >= _crawled(items[newest[item.id]]):
                newest[item.id] = position
        return sorted(p for i, p in newest.items() if i not in stored or _crawled(items[p]) >= _crawled(stored[i]))

    def flush(self) -> None:
        """Make recent writes cheap to search (Milvus segment sealed) and visible to Solr queries."""
        call_with_retry(self.vectors.flush, self.retry, "Milvus flush")
        call_with_retry(self.metadata.refresh, self.retry, "Solr commit")

    def delete(self, ids: Sequence[str]) -> None:
        """Delete from both stores; Solr first, so a half-done delete leaves no hit without metadata."""
        call_with_retry(lambda: self.metadata.delete(ids), self.retry, "Solr delete")
        call_with_retry(lambda: self.vectors.delete(ids), self.retry, "Milvus delete")

    def delete_products(self, product_ids: Sequence[str]) -> None:
        """Delete every item of these products from both stores, by product id, in every model version.

        Milvus first, then Solr, and neither looks ids up: a delete that failed half-way is completed by its replay.
        """
        call_with_retry(lambda: self.vectors.delete_products(product_ids), self.retry, "Milvus delete")
        call_with_retry(lambda: self.metadata.delete_products(product_ids), self.retry, "Solr delete")

    def get(self, ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The stored items among ids, by id."""
        return call_with_retry(lambda: self.metadata.get(ids), self.retry, "Solr get")
