"""The catalog index: items written to both stores (vectors to Milvus, metadata to Solr) as one operation.

Writes are monotonic per product. A crawl of a product is every photo upserted with one `crawled_at`: writing it
deletes the product's items of older crawls, and an upsert older than the newest stored crawl is skipped. A delete
leaves a tombstone with its time: upserts crawled at or before it are skipped, newer ones list the product again.
So the last crawl or delete wins, whatever the order in which replays and late messages arrive.
"""

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from indexer.errors import IncompleteWrite, IndexerError, StoreRequestRejected
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore
from indexer.retry import RetryPolicy, call_with_retry, retry_policy
from indexer.vector_store import VectorIndexConfig, VectorStore
from settings import IndexerSettings, StoreSettings

logger = logging.getLogger(__name__)


def _second(at: datetime) -> datetime:
    """A time to the second (the precision Solr stores)."""
    return at.replace(microsecond=0)


@dataclass(frozen=True)
class StoredProducts:
    """What the stores hold of some products: each item's product and crawl time (None: a vector without
    metadata), and each deleted product's tombstone time."""

    items: dict[str, tuple[str, datetime | None]]
    deleted: dict[str, datetime]

    def has_newer_crawl(self, product_id: str, at: datetime) -> bool:
        """Whether an item of the product crawled after `at` is stored."""
        return any(p == product_id and crawled is not None and crawled > at for p, crawled in self.items.values())

    def is_stale(self, product_id: str, crawled_at: datetime) -> bool:
        """Whether a crawl of the product is older than its newest stored crawl, or not newer than its delete."""
        deleted = self.deleted.get(product_id)
        return self.has_newer_crawl(product_id, crawled_at) or (deleted is not None and crawled_at <= deleted)

    def superseded(self, written: Iterable[CatalogItem]) -> list[str]:
        """The stored items of the written items' products that are of an older crawl (or have no metadata)."""
        crawls = {item.product_id: _second(item.crawled_at) for item in written}
        kept = {item.id for item in written}
        return sorted(
            i for i, (p, at) in self.items.items() if p in crawls and i not in kept and (at is None or at < crawls[p])
        )


class CatalogIndex:
    """Writes go to Milvus then Solr; a write is complete only when both have it, and is safe to repeat."""

    def __init__(self, vectors: VectorStore, metadata: MetadataStore, retry: RetryPolicy | None = None) -> None:
        self.vectors = vectors
        self.metadata = metadata
        self.retry = retry or RetryPolicy()

    @classmethod
    def from_settings(
        cls, stores: StoreSettings, settings: IndexerSettings, model_version: str, dim: int
    ) -> "CatalogIndex":
        """Connect both stores as configured, creating the collection of the model version and dim (the
        checkpoint's: `embedder.checkpoint_facts.read_config`)."""
        retry = retry_policy(settings)
        index = VectorIndexConfig(
            index_type=settings.index_type,
            metric_type=settings.metric_type,
            build_params=settings.index_build_params,
            search_params=settings.index_search_params,
        )
        vectors = call_with_retry(
            lambda: VectorStore.from_settings(stores, model_version, dim, index=index, batch_size=settings.batch_size),
            retry, "connect to Milvus",
        )  # fmt: skip
        metadata = call_with_retry(
            lambda: MetadataStore.connect(
                stores.solr_core_url, timeout_s=stores.timeout_s, auth=stores.solr_auth(),
                batch_size=settings.batch_size, commit_within_ms=settings.solr_commit_within_ms,
            ),
            retry, "connect to Solr",
        )  # fmt: skip
        return cls(vectors, metadata, retry)

    def upsert(self, items: Sequence[CatalogItem], vectors: NDArray[np.float32]) -> list[str]:
        """Write items and their (N, D) vectors to both stores, Milvus first; returns the ids skipped as stale.

        An item is skipped if its product has a newer crawl (stored, or in the batch) or a delete at or after its
        crawl, so a late or replayed message cannot restore an old version; once written, the product's items of
        older crawls are deleted (from Solr and this model version's collection). If Solr refuses the batch, its
        ids are deleted from both stores and StoreRequestRejected is raised: a refused item is in neither store,
        and the caller dead-letters it. If Solr is unreachable, IncompleteWrite: retry the batch (it is idempotent).
        """
        wrong_version = {item.model_version for item in items} - {self.vectors.model_version}
        if wrong_version:
            raise ValueError(f"items of model {sorted(wrong_version)} sent to the {self.vectors.model_version} index")
        stored = self.stored_products({item.product_id for item in items}, [item.id for item in items])
        fresh = _fresh_positions(items, stored)
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
        superseded = stored.superseded(items)
        if superseded:
            logger.info("deleting %d items of older crawls", len(superseded))
            self.delete(superseded)
        return stale

    def stored_products(self, product_ids: Collection[str], item_ids: Sequence[str] = ()) -> StoredProducts:
        """The items of these products in this model version's collection (and those of item_ids in Solr) with
        their crawl times, and the products' tombstones; read from Milvus and Solr's update log, so up to date."""
        in_milvus = call_with_retry(lambda: self.vectors.product_items(product_ids), self.retry, "Milvus query")
        metadata = self.get([*in_milvus, *item_ids])
        items: dict[str, tuple[str, datetime | None]] = {i: (p, None) for i, p in in_milvus.items()}
        items.update({i: (item.product_id, _second(item.crawled_at)) for i, item in metadata.items()})
        deleted = call_with_retry(lambda: self.metadata.tombstones(product_ids), self.retry, "Solr get")
        return StoredProducts(items, deleted)

    def flush(self) -> None:
        """Make recent writes cheap to search (Milvus segment sealed) and visible to Solr queries."""
        call_with_retry(self.vectors.flush, self.retry, "Milvus flush")
        call_with_retry(self.metadata.refresh, self.retry, "Solr commit")

    def delete(self, ids: Sequence[str]) -> None:
        """Delete from both stores (from every model version's collection); Solr first, so a half-done delete
        leaves no hit without metadata."""
        call_with_retry(lambda: self.metadata.delete(ids), self.retry, "Solr delete")
        call_with_retry(lambda: self.vectors.delete_in_every_model(ids), self.retry, "Milvus delete")

    def delete_products(self, deleted: Mapping[str, datetime]) -> list[str]:
        """Delete the products (product id -> when deleted) from both stores, in every model version, unless a
        newer crawl of a product is stored; returns the products kept for that reason.

        Each delete leaves a tombstone first (the latest time wins), then deletes from Milvus, then Solr, by
        product id: a delete that failed half-way is completed by its replay.
        """
        deleted = {product: _second(at) for product, at in deleted.items()}
        stored = self.stored_products(list(deleted))
        tombstones = {product: max(at, stored.deleted.get(product, at)) for product, at in deleted.items()}
        call_with_retry(lambda: self.metadata.add_tombstones(tombstones), self.retry, "Solr add")
        kept = [product for product, at in deleted.items() if stored.has_newer_crawl(product, at)]
        gone = [product for product in deleted if product not in kept]
        call_with_retry(lambda: self.vectors.delete_products(gone), self.retry, "Milvus delete")
        call_with_retry(lambda: self.metadata.delete_products(gone), self.retry, "Solr delete")
        return kept

    def get(self, ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The stored items among ids, by id."""
        return call_with_retry(lambda: self.metadata.get(ids), self.retry, "Solr get")


def _fresh_positions(items: Sequence[CatalogItem], stored: StoredProducts) -> list[int]:
    """Positions of the last item of each id among those of its product's newest crawl in the batch, unless the
    stores hold a newer crawl or a later delete of the product."""
    crawls = [(item.product_id, _second(item.crawled_at)) for item in items]
    newest = {product: max(at for p, at in crawls if p == product) for product, _ in crawls}
    last = {item.id: position for position, item in enumerate(items) if crawls[position][1] == newest[item.product_id]}
    return sorted(p for p in last.values() if not stored.is_stale(*crawls[p]))
