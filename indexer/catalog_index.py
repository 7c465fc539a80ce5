"""The catalog index: items written to both stores (vectors to Milvus, metadata to Solr) as one operation."""

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from indexer.errors import IncompleteWrite, IndexerError, StoreRequestRejected
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore
from indexer.retry import RetryPolicy, call_with_retry
from indexer.settings import IndexerSettings
from indexer.vector_store import VectorIndexConfig, VectorStore

logger = logging.getLogger(__name__)


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

    def upsert(self, items: Sequence[CatalogItem], vectors: NDArray[np.float32]) -> None:
        """Write items and their (N, D) vectors to both stores, Milvus first.

        If Solr refuses the batch, its ids are deleted from both stores (an older version of an item included)
        and StoreRequestRejected is raised: a refused item is in neither store, and the caller dead-letters it.
        If Solr is unreachable, IncompleteWrite: retry the batch (writes are idempotent).
        """
        wrong_version = {item.model_version for item in items} - {self.vectors.model_version}
        if wrong_version:
            raise ValueError(f"items of model {sorted(wrong_version)} sent to the {self.vectors.model_version} index")
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
