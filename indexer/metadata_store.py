"""Catalog metadata in Solr (core `catalog`, configset in `deploy/solr/`): writes, reads, search, facets.

Besides one document per catalog item, the core holds one tombstone per deleted product (`deleted_at`, no
`model_version`): every query over items filters by `model_version`, so no search ever returns a tombstone.
"""

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import pysolr
import requests

from indexer.errors import StoreRequestRejected, StoreUnavailable
from indexer.item import FILTER_FIELDS, CatalogItem
from indexer.search_filter import SearchFilter

logger = logging.getLogger(__name__)

T = TypeVar("T")
_TRANSIENT_HTTP = {"502", "503", "504"}
_SOLR_DATE = "%Y-%m-%dT%H:%M:%SZ"
_QUERY_SYNTAX = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|])')
_OPERATORS = re.compile(r"\b(AND|OR|NOT)\b")
ITEMS_QUERY = "model_version:[* TO *]"  # items have a model version, tombstones none
LEGACY_ITEMS_QUERY = "-photo_sha256:[* TO *]"  # items indexed before photo_sha256, whose id is the photo's SHA-256


@dataclass(frozen=True)
class MetadataPage:
    """One page of a metadata query: the items in rank order and how many match in total."""

    items: list[CatalogItem]
    total: int


def solr_phrase(value: str) -> str:
    """A quoted Solr query term holding value as data: only backslash and double quote need escaping."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def solr_text(text: str) -> str:
    """Shopper text as plain words for dismax: syntax characters escaped, AND/OR/NOT lower-cased."""
    escaped = _QUERY_SYNTAX.sub(r"\\\1", text.strip())
    return _OPERATORS.sub(lambda match: match.group().lower(), escaped)


def solr_filter_queries(search_filter: SearchFilter | None) -> list[str]:
    """One `fq` per condition (each cached separately by Solr); values are quoted, never parsed as syntax."""
    if search_filter is None:
        return []
    queries = [
        f"{name}:({' OR '.join(solr_phrase(v) for v in values)})"
        for name, values in search_filter.string_conditions().items()
    ]
    if search_filter.price_min is not None or search_filter.price_max is not None:
        low = "*" if search_filter.price_min is None else repr(float(search_filter.price_min))
        high = "*" if search_filter.price_max is None else repr(float(search_filter.price_max))
        queries.append(f"price:[{low} TO {high}]")
    if search_filter.in_stock is not None:
        queries.append(f"in_stock:{'true' if search_filter.in_stock else 'false'}")
    return queries


def to_solr_document(item: CatalogItem) -> dict[str, Any]:
    """The Solr document of an item (dates in Solr's UTC format)."""
    document = item.model_dump()
    document["crawled_at"] = item.crawled_at.strftime(_SOLR_DATE)
    return document


def from_solr_date(value: Any) -> datetime:
    """A datetime of a Solr date (UTC)."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def from_solr_document(document: dict[str, Any]) -> CatalogItem:
    """The item stored in a Solr document (Solr-only fields such as _version_ dropped).

    An item indexed before photo_sha256 existed has its photo's SHA-256 as id (`cbir migrate-ids` rewrites it).
    """
    fields = {name: document[name] for name in CatalogItem.model_fields if name in document}
    fields["crawled_at"] = from_solr_date(fields["crawled_at"])
    fields.setdefault("photo_sha256", fields["id"])
    return CatalogItem.model_validate(fields)


def tombstone_id(product_id: str) -> str:
    """The Solr id of a product's tombstone (hashed: product ids may hold the commas that `get` splits ids on)."""
    return f"tombstone-{hashlib.sha256(product_id.encode()).hexdigest()}"


def _classify(error: pysolr.SolrError, what: str, url: str) -> Exception:
    """StoreUnavailable for connection problems and 502/503/504, StoreRequestRejected for the rest."""
    status = re.search(r"\(HTTP (\d{3})\)", str(error))
    unreachable = isinstance(error.__context__, requests.ConnectionError | requests.Timeout)
    if unreachable or (status is not None and status.group(1) in _TRANSIENT_HTTP):
        return StoreUnavailable(f"Solr {what} at {url} failed: {error}")
    return StoreRequestRejected(f"Solr {what} at {url} rejected: {error}")


def _version_filter(model_version: str | None) -> list[str]:
    """The filter query keeping one model version's items (every item for None; never a tombstone)."""
    return [ITEMS_QUERY if model_version is None else f"model_version:{solr_phrase(model_version)}"]


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive chunks of at most size."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MetadataStore:
    """Catalog items as Solr documents, keyed by item id (adds overwrite, so they are idempotent)."""

    def __init__(self, solr: pysolr.Solr, batch_size: int = 500, commit_within_ms: int = 1000) -> None:
        self.solr = solr
        self.batch_size = batch_size
        self.commit_within_ms = commit_within_ms

    @classmethod
    def connect(
        cls, core_url: str, timeout_s: float = 10.0, auth: tuple[str, str] | None = None, **kwargs: Any
    ) -> "MetadataStore":
        """A store for the Solr core at core_url (http://host:port/solr/catalog), checked by a ping; auth: basic
        auth's (user, password) when Solr has authentication (`StoreSettings.solr_auth`)."""
        store = cls(pysolr.Solr(core_url, timeout=timeout_s, auth=auth), **kwargs)
        store._call("ping", store.solr.ping)
        return store

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        """Run one Solr request, turning pysolr errors into the indexer's domain errors."""
        try:
            return operation()
        except pysolr.SolrError as error:
            raise _classify(error, what, self.solr.url) from error

    def problem(self) -> str:
        """What keeps this store from serving searches now ('' when nothing): the readiness probe."""
        self._call("ping", self.solr.ping)
        return ""

    def add(self, items: Sequence[CatalogItem]) -> None:
        """Add or overwrite items by id, in batches. Durable on return; searchable within commit_within_ms."""
        for batch in _batches(items, self.batch_size):
            documents = [to_solr_document(item) for item in batch]
            self._call("add", partial(self.solr.add, documents, commitWithin=self.commit_within_ms))

    def delete(self, ids: Sequence[str]) -> None:
        """Delete items by id (missing ids are ignored)."""
        for batch in _batches(ids, self.batch_size):
            self._call("delete", partial(self.solr.delete, id=list(batch)))

    def delete_products(self, product_ids: Sequence[str]) -> None:
        """Delete every item of these products (every model version; recent adds too, no commit needed), not
        their tombstones."""
        for batch in _batches(product_ids, self.batch_size):
            query = f"product_id:({' OR '.join(solr_phrase(p) for p in batch)}) AND {ITEMS_QUERY}"
            self._call("delete", partial(self.solr.delete, q=query))  # searchable within autoSoftCommit

    def add_tombstones(self, deleted: Mapping[str, datetime]) -> None:
        """Record when each product was deleted (overwriting its previous tombstone)."""
        documents = [
            {"id": tombstone_id(product), "product_id": product, "deleted_at": at.strftime(_SOLR_DATE)}
            for product, at in deleted.items()
        ]
        for batch in _batches(documents, self.batch_size):
            self._call("add", partial(self.solr.add, batch, commitWithin=self.commit_within_ms))

    def tombstones(self, product_ids: Collection[str]) -> dict[str, datetime]:
        """When each of these products was last deleted, for those that were; reads the update log, like get()."""
        found: dict[str, datetime] = {}
        for batch in _batches([tombstone_id(p) for p in product_ids], self.batch_size):
            results = self._call("get", partial(self.solr.search, "", search_handler="get", ids=",".join(batch)))
            found.update({doc["product_id"]: from_solr_date(doc["deleted_at"]) for doc in results.docs})
        return found

    def get(self, ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items that exist among ids, by id; reads the update log, so a write is visible at once."""
        found: dict[str, CatalogItem] = {}
        for batch in _batches(ids, self.batch_size):
            # `ids` (not `id`) so that Solr answers with a doc list even for one id; item ids have no commas.
            results = self._call("get", partial(self.solr.search, "", search_handler="get", ids=",".join(batch)))
            found.update({doc["id"]: from_solr_document(doc) for doc in results.docs})
        return found

    def product_items(
        self, product_ids: Collection[str], model_version: str | None = None, rows: int = 1000
    ) -> list[CatalogItem]:
        """The searchable items of these products, of one model version (at most rows), by id."""
        products = f"product_id:({' OR '.join(solr_phrase(p) for p in sorted(product_ids))})"
        search = partial(
            self.solr.search, "*:*", fq=[products, *_version_filter(model_version)], rows=rows, sort="id asc"
        )  # fmt: skip
        return [from_solr_document(doc) for doc in self._call("search", search).docs] if product_ids else []

    def all_ids(self, model_version: str | None = None, page_size: int = 1000) -> set[str]:
        """The ids of every searchable item (of one model version if given), paged with a cursor."""
        return {doc["id"] for docs in self._scan(_version_filter(model_version), "id", page_size) for doc in docs}

    def legacy_items(self, model_version: str, page_size: int = 500) -> Iterator[list[CatalogItem]]:
        """Pages of the searchable items of a model version that were indexed before photo_sha256 existed."""
        for docs in self._scan([*_version_filter(model_version), LEGACY_ITEMS_QUERY], "*", page_size):
            yield [from_solr_document(doc) for doc in docs]

    def _scan(self, fq: list[str], fl: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of every searchable document passing fq, by id, with a cursor (safe while documents change)."""
        cursor, previous = "*", ""
        while cursor != previous:
            search = partial(
                self.solr.search, "*:*", fq=fq, fl=fl, sort="id asc", rows=page_size, cursorMark=cursor
            )  # fmt: skip
            results = self._call("search", search)
            if results.docs:
                yield list(results.docs)
            previous, cursor = cursor, results.nextCursorMark

    def searchable_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of ids that a search finds now (unlike get(), which also sees writes not yet searchable)."""
        found: set[str] = set()
        for batch in _batches(ids, 500):
            search = partial(self.solr.search, "*:*", fq="{!terms f=id}" + ",".join(batch), fl="id", rows=len(batch))
            results = self._call("search", search)
            found.update(doc["id"] for doc in results.docs)
        return found

    def _query_params(self, text: str | None, search_filter: SearchFilter | None) -> dict[str, Any]:
        """Parameters shared by search and facets: dismax for text (no query syntax), one fq per condition."""
        params: dict[str, Any] = {"fq": solr_filter_queries(search_filter)}
        if text and text.strip():
            params.update({"defType": "dismax", "qf": "title^2 text", "q.alt": "*:*"})
        return params

    def search(
        self,
        text: str | None = None,
        search_filter: SearchFilter | None = None,
        rows: int = 10,
        start: int = 0,
        model_version: str | None = None,
    ) -> MetadataPage:
        """Items matching every word of the text (analysed) and the filter (and of one model version if given),
        best match first."""
        query = solr_text(text) if text and text.strip() else "*:*"
        params = self._query_params(text, search_filter)
        params["fq"] += _version_filter(model_version)
        results = self._call("search", lambda: self.solr.search(query, rows=rows, start=start, **params))
        return MetadataPage(items=[from_solr_document(doc) for doc in results.docs], total=results.hits)

    def facet_counts(
        self,
        text: str | None = None,
        search_filter: SearchFilter | None = None,
        fields: Sequence[str] = FILTER_FIELDS,
        limit: int = 100,
        model_version: str | None = None,
    ) -> dict[str, dict[str, int]]:
        """Per field, how many matching items have each value (most frequent first, zeros left out)."""
        query = solr_text(text) if text and text.strip() else "*:*"
        params = {
            **self._query_params(text, search_filter),
            "rows": 0,
            "facet": "true",
            "facet.field": list(fields),
            "facet.limit": limit,
            "facet.mincount": 1,
        }
        params["fq"] += _version_filter(model_version)
        results = self._call("facets", lambda: self.solr.search(query, **params))
        counts = results.facets.get("facet_fields", {})
        # Solr returns [value1, count1, value2, count2, ...] per field.
        return {name: dict(zip(flat[::2], flat[1::2], strict=True)) for name, flat in counts.items()}

    def refresh(self) -> None:
        """Make every acknowledged write searchable now (a soft commit) instead of within commit_within_ms."""
        self._call("commit", lambda: self.solr.commit(softCommit=True))

    def count(self, model_version: str | None = None) -> int:
        """How many items are searchable (those of one model version if given)."""
        fq = _version_filter(model_version)
        return self._call("count", lambda: self.solr.search("*:*", rows=0, fq=fq)).hits
