"""Vectors and the fields searches filter on, in Milvus: one collection per model version and dimension."""

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import grpc
import numpy as np
from numpy.typing import NDArray
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import ConnectError, MilvusException, MilvusUnavailableException

from indexer.errors import DimensionMismatch, SchemaOutdated, StoreRequestRejected, StoreUnavailable
from indexer.item import FILTER_FIELDS, ITEM_ID_LENGTH, CatalogItem
from indexer.search_filter import SearchFilter
from settings import StoreSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
VECTOR_FIELD = "vector"
STRING_FIELDS = ("product_id", *FILTER_FIELDS)
SCALAR_FIELDS = (*STRING_FIELDS, "price", "in_stock")
# Milvus status codes that mean "try again later": connection failed, rate limited.
_TRANSIENT_CODES = {2, 8}


@dataclass(frozen=True)
class VectorIndexConfig:
    """The ANN index of a collection and the parameters searches use with it."""

    index_type: str = "FLAT"
    metric_type: str = "COSINE"
    build_params: dict[str, Any] = field(default_factory=dict)
    search_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VectorHit:
    """One nearest neighbour: the item id and its similarity (for COSINE and IP, higher is closer)."""

    id: str
    score: float


def collection_name(prefix: str, model_version: str, dim: int) -> str:
    """A valid Milvus collection name that is unique per model version and dimension."""
    slug = re.sub(r"[^0-9A-Za-z_]", "_", model_version)
    if slug != model_version:  # keep "v1.0" and "v1_0" apart
        slug = f"{slug}_{hashlib.sha1(model_version.encode()).hexdigest()[:8]}"
    return f"{prefix}_{slug}_d{dim}"


def varchar_bytes(name: str) -> int:
    """The VARCHAR size (Milvus counts bytes) of an item's string field whose limit pydantic counts in characters."""
    max_chars = next(m.max_length for m in CatalogItem.model_fields[name].metadata if hasattr(m, "max_length"))
    return 4 * int(max_chars)  # a character is at most 4 bytes of UTF-8


def milvus_literal(value: str) -> str:
    """A Milvus expression string literal holding value as data (quotes and backslashes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def milvus_expression(search_filter: SearchFilter | None) -> str:
    """The boolean expression of a filter ('' for none); every value is a literal, never expression syntax."""
    if search_filter is None:
        return ""
    clauses = [
        f"{name} in [{', '.join(milvus_literal(v) for v in values)}]"
        for name, values in search_filter.string_conditions().items()
    ]
    if search_filter.price_min is not None:
        clauses.append(f"price >= {float(search_filter.price_min)!r}")
    if search_filter.price_max is not None:
        clauses.append(f"price <= {float(search_filter.price_max)!r}")
    if search_filter.in_stock is not None:
        clauses.append(f"in_stock == {'true' if search_filter.in_stock else 'false'}")
    return " and ".join(clauses)


def _products_expression(product_ids: Sequence[str]) -> str:
    """The expression matching the items of these products."""
    return f"product_id in [{', '.join(milvus_literal(p) for p in product_ids)}]"


def _is_transient(error: Exception) -> bool:
    """Whether a Milvus client error is about reachability rather than the request."""
    if isinstance(error, grpc.RpcError | MilvusUnavailableException | ConnectError):
        return True
    return isinstance(error, MilvusException) and error.code in _TRANSIENT_CODES


def _batches(count: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most size covering range(count)."""
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


class VectorStore:
    """Item vectors of one model version in one Milvus collection, with the scalar fields filters use."""

    def __init__(
        self,
        client: MilvusClient,
        model_version: str,
        dim: int,
        index: VectorIndexConfig | None = None,
        collection_prefix: str = "catalog",
        batch_size: int = 512,
    ) -> None:
        self.client = client
        self.model_version = model_version
        self.dim = dim
        self.index = index or VectorIndexConfig()
        self.batch_size = batch_size
        self.collection_prefix = collection_prefix
        self.collection = collection_name(collection_prefix, model_version, dim)
        self.timeout_s: float | None = None  # per search/get call; connect() sets its timeout

    @classmethod
    def connect(
        cls, uri: str, model_version: str, dim: int, timeout_s: float = 10.0, token: str = "", **kwargs: Any
    ) -> "VectorStore":
        """Connect to Milvus at uri and make sure the collection exists and is loaded; token: user:password when
        Milvus has authorization (`StoreSettings.milvus_token_value`)."""
        try:
            # a connection of its own: pymilvus 2.5 shares one per URI, which any client's close() ends
            alias = f"vector-store-{uuid.uuid4().hex}"
            client = MilvusClient(uri=uri, token=token, timeout=timeout_s, alias=alias)
        except MilvusException as error:
            raise StoreUnavailable(f"Milvus at {uri} is unreachable: {error.message}") from error
        store = cls(client, model_version, dim, **kwargs)
        store.timeout_s = timeout_s  # every read call is bounded too: a hung Milvus must not hold threads forever
        store.ensure_collection()
        return store

    @classmethod
    def from_settings(cls, stores: "StoreSettings", model_version: str, dim: int, **kwargs: Any) -> "VectorStore":
        """Connect as the store settings say (URI, collection prefix, timeout, token); kwargs as `VectorStore`."""
        return cls.connect(
            stores.milvus_uri, model_version, dim, timeout_s=stores.timeout_s, token=stores.milvus_token_value(),
            collection_prefix=stores.milvus_collection_prefix, **kwargs,
        )  # fmt: skip

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        """Run one Milvus call, turning client errors into the indexer's domain errors."""
        try:
            return operation()
        except (MilvusException, grpc.RpcError) as error:
            message = getattr(error, "message", None) or str(error)
            if _is_transient(error):
                raise StoreUnavailable(f"Milvus {what} on {self.collection} failed: {message}") from error
            raise StoreRequestRejected(f"Milvus {what} on {self.collection} rejected: {message}") from error

    def problem(self) -> str:
        """What keeps this store from serving searches now ('' when nothing): the readiness probe."""
        if not self._call("has_collection", lambda: self.client.has_collection(self.collection)):
            return f"collection {self.collection} is missing"
        return ""

    def ensure_collection(self) -> None:
        """Create the collection and its indexes if missing, check its dimension, and load it."""
        if not self._call("has_collection", lambda: self.client.has_collection(self.collection)):
            logger.info("Creating Milvus collection %s (%s, %s)", self.collection, self.index.index_type, self.dim)
            self._call("create_collection", self._create_collection)
        fields = self._collection_fields()
        existing_dim = int(fields[VECTOR_FIELD]["params"]["dim"])
        if existing_dim != self.dim:
            raise DimensionMismatch(f"collection {self.collection} holds {existing_dim}-d vectors, not {self.dim}-d")
        if "product_id" not in fields:
            raise SchemaOutdated(
                f"collection {self.collection} predates item ids per product (no product_id field): "
                "drop it and re-index (docs/operations.md, 'Upgrading the item identity')"
            )
        self._call("load_collection", lambda: self.client.load_collection(self.collection))

    def _create_collection(self) -> None:
        """The schema: id, vector, and the scalar fields that searches filter on."""
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ITEM_ID_LENGTH)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=self.dim)
        for name in STRING_FIELDS:
            schema.add_field(name, DataType.VARCHAR, max_length=varchar_bytes(name))
        schema.add_field("price", DataType.DOUBLE)
        schema.add_field("in_stock", DataType.BOOL)
        index_params = MilvusClient.prepare_index_params()
        index_params.add_index(
            field_name=VECTOR_FIELD,
            index_type=self.index.index_type,
            metric_type=self.index.metric_type,
            params=self.index.build_params,
        )
        self.client.create_collection(self.collection, schema=schema, index_params=index_params)

    def _collection_fields(self) -> dict[str, dict[str, Any]]:
        """The fields of the existing collection, by name."""
        description = self._call("describe_collection", lambda: self.client.describe_collection(self.collection))
        return {f["name"]: f for f in description["fields"]}

    def _check_vectors(self, vectors: NDArray[np.float32], rows: int | None = None) -> NDArray[np.float32]:
        """vectors as a (N, D) float32 array of this store's dimension, or DimensionMismatch."""
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise DimensionMismatch(
                f"expected vectors of shape (N, {self.dim}) for {self.collection}, got {array.shape}"
            )
        if rows is not None and array.shape[0] != rows:
            raise ValueError(f"{rows} items but {array.shape[0]} vectors")
        return array

    def upsert(self, items: Sequence[CatalogItem], vectors: NDArray[np.float32]) -> None:
        """Insert or overwrite items by id, in batches; re-running the same call is harmless."""
        array = self._check_vectors(vectors, rows=len(items))
        for batch in _batches(len(items), self.batch_size):
            rows = [
                {"id": item.id, VECTOR_FIELD: vector.tolist(), **item.model_dump(include=set(SCALAR_FIELDS))}
                for item, vector in zip(items[batch], array[batch], strict=True)
            ]
            self._call("upsert", partial(self.client.upsert, self.collection, rows))

    def delete(self, ids: Sequence[str]) -> None:
        """Delete items by id (missing ids are ignored)."""
        for batch in _batches(len(ids), self.batch_size):
            chunk = list(ids[batch])
            self._call("delete", partial(self.client.delete, self.collection, ids=chunk))

    def delete_in_every_model(self, ids: Sequence[str]) -> None:
        """Delete items by id from the collections of every model version (this prefix): an older crawl's photo
        must leave the collection a promotion is building, and the standby one, too."""
        for name in self.model_collections():
            for batch in _batches(len(ids), self.batch_size):
                self._call("delete", partial(self.client.delete, name, ids=list(ids[batch])))

    def delete_products(self, product_ids: Sequence[str]) -> None:
        """Delete every item of these products from the collections of every model version (this prefix)."""
        if not product_ids:
            return
        for name in self.model_collections():
            self._call("delete", partial(self.client.delete, name, filter=_products_expression(product_ids)))

    def product_items(self, product_ids: Collection[str]) -> dict[str, str]:
        """Item id -> product id of every item of these products in this collection, recent writes included."""
        found: dict[str, str] = {}
        products = sorted(product_ids)
        for batch in _batches(len(products), self.batch_size):
            query = partial(
                self.client.query, self.collection, filter=_products_expression(products[batch]),
                output_fields=["id", "product_id"], consistency_level="Strong", timeout=self.timeout_s,
            )  # fmt: skip
            found.update({row["id"]: row["product_id"] for row in self._call("query", query)})
        return found

    def model_collections(self) -> list[str]:
        """The collections of every model version and dimension that share this store's prefix (and schema)."""
        names = self._call("list_collections", self.client.list_collections)
        return sorted(
            name for name in names if name.startswith(f"{self.collection_prefix}_") and self._by_product(name)
        )

    def _by_product(self, name: str) -> bool:
        """Whether a collection has the product_id field (those made before it must be re-indexed)."""
        description = self._call("describe_collection", lambda: self.client.describe_collection(name))
        return any(f["name"] == "product_id" for f in description["fields"])

    def all_ids(self, page_size: int = 1000) -> set[str]:
        """The ids of every item in the collection (paged through a query iterator)."""
        return {row["id"] for rows in self.scan([], page_size) for row in rows}

    def get_vectors(self, ids: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """The stored vectors of the ids that exist, by id."""
        found: dict[str, NDArray[np.float32]] = {}
        for batch in _batches(len(ids), self.batch_size):
            chunk = list(ids[batch])
            get = partial(
                self.client.get, self.collection, ids=chunk, output_fields=[VECTOR_FIELD], timeout=self.timeout_s
            )
            rows = self._call("get", get)
            found.update({row["id"]: np.asarray(row[VECTOR_FIELD], dtype=np.float32) for row in rows})
        return found

    def search(
        self, vector: NDArray[np.float32], k: int = 10, search_filter: SearchFilter | None = None
    ) -> list[VectorHit]:
        """The k nearest items to one vector (shape (D,)) that pass the filter, closest first."""
        return self.search_batch(np.asarray(vector, dtype=np.float32).reshape(1, -1), k, search_filter)[0]

    def search_batch(
        self, vectors: NDArray[np.float32], k: int = 10, search_filter: SearchFilter | None = None
    ) -> list[list[VectorHit]]:
        """The k nearest items for each of Q vectors (shape (Q, D)) in one call: much cheaper per query."""
        queries = self._check_vectors(vectors)
        results = self._call(
            "search",
            lambda: self.client.search(
                self.collection,
                data=queries.tolist(),
                limit=k,
                filter=milvus_expression(search_filter),
                output_fields=["id"],
                search_params={"metric_type": self.index.metric_type, "params": self.index.search_params},
                timeout=self.timeout_s,
            ),
        )
        return [[VectorHit(id=hit["id"], score=float(hit["distance"])) for hit in hits] for hits in results]

    def flush(self) -> None:
        """Seal the items written so far into an indexed segment.

        Unflushed items sit in milvus-lite's memtable, which every search scans and re-indexes (a 10k-item
        memtable costs ~200 ms per search, a flushed 10k collection ~25 ms): flush after a bulk load, and
        periodically in a stream.
        """
        self._call("flush", lambda: self.client.flush(self.collection))

    def count(self) -> int:
        """How many items the collection holds."""
        rows = self._call("count", lambda: self.client.query(self.collection, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"])

    def scan(
        self, fields: Sequence[str], batch_size: int = 2000, search_filter: SearchFilter | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every item's id and the given fields (the vector too if asked), of the items that pass the filter,
        batch by batch, in no set order."""
        output = ["id", *(f for f in fields if f != "id")]
        expression = milvus_expression(search_filter)
        iterator = self._call(
            "query_iterator",
            lambda: self.client.query_iterator(
                self.collection, batch_size=batch_size, filter=expression, output_fields=output
            ),
        )
        while rows := self._call("query_iterator.next", iterator.next):
            yield rows
        iterator.close()

    def drop(self) -> None:
        """Delete the whole collection (tests and re-indexing from scratch)."""
        self._call("drop_collection", lambda: self.client.drop_collection(self.collection))
