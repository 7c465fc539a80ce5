"""A page of search results from a query vector: filtered ANN in Milvus, text in Solr, fused, collapsed, paged.

How the two stores are combined:
1. The filters go into the Milvus search itself (its scalar fields: category, brand, colour, source_site,
   price, in_stock), so the k nearest are the k nearest *among matching items*, not a post-filtered subset.
2. With text `q`, Solr ranks the items matching the words (dismax over title and description) under the same
   filters as Solr filter queries; this runs concurrently with the Milvus search. The two rankings are fused
   by reciprocal rank fusion (`api/fusion.py`); without `q` the order is Milvus's. Without a query image (a
   text-only search) the vector is the words' text embedding when a text encoder is configured (the same
   fusion), else Milvus is not asked: the order is Solr's (BM25), ranked as deep as the page needs.
3. The catalog fields of the page come from Solr in one real-time-get request for all its ids (text hits
   already carry theirs). A vector hit that Solr does not know (deleted meanwhile) is left out.
4. A photo search's first `rerank_depth` candidates are reordered by a second look (`rerank`: SSIM of the
   query's and each candidate's grey thumbnail, alone or over the cosine distance; embedder/rerank.py) before
   fusion; the thumbnails come with the candidates' metadata, in the same Solr request the page needs anyway.
   Candidates indexed before thumbnails existed are not reordered.
5. `one_per_product` collapses the ranking by product id, keeping each product's best photo; it needs the
   product id of every candidate, so the metadata of all candidates is fetched (still one request).
Paging is by offset in the (fused, collapsed) ranking, at most `max_depth` deep, behind an opaque cursor.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from api.cursor import encode_cursor
from api.fusion import FusedHit, collapse, reciprocal_rank_fusion
from api.runtime import Runtime
from api.schemas import Hit, SearchResponse, shown_fields
from api.store_clients import CollectionKey
from api.timings import Timings
from embedder.rerank import Reranker, rerank, thumbnail_from_text
from indexer.item import CatalogItem
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorHit

# How many more candidates than the page depth to rank when collapsing to one photo per product.
COLLAPSE_OVERFETCH = 4


@dataclass(frozen=True)
class PageRequest:
    """What one page of results needs, besides the query vector."""

    search_filter: SearchFilter | None
    text: str | None
    k: int
    offset: int  # from the cursor (decode_cursor), checked before any work is done
    fingerprint: str
    one_per_product: bool = False
    exclude_id: str | None = None  # the query item itself, for /similar
    rerank: Reranker = "none"
    query_thumbnail: NDArray[np.float32] | None = None  # (H, W) grey: needed by every re-ranker but none
    collection: CollectionKey | None = None  # the query vector's model's; None: the serving model's


async def search_page(
    runtime: Runtime, vector: NDArray[np.float32] | None, page: PageRequest, timings: Timings
) -> SearchResponse:
    """The page of results the request asks for, best first, with the next one's cursor (no vector: text only)."""
    max_depth, offset = runtime.settings.api.max_depth, page.offset
    depth = min(offset + page.k, max_depth)
    wanted = depth + 1  # one more than the page reaches tells whether there is a next page
    limit = min(wanted * COLLAPSE_OVERFETCH if page.one_per_product else wanted, max_depth * COLLAPSE_OVERFETCH)
    if page.exclude_id is not None:
        limit += 1
    rerank_depth = runtime.settings.api.rerank_depth if _reranks(vector, page) else 0
    image_hits, text_items = await _rankings(runtime, vector, page, max(limit, rerank_depth), timings)
    known = {item.id: item for item in text_items}
    reranked: Reranker = "none"
    if rerank_depth:
        assert vector is not None  # _reranks: only a photo's ranking is re-ranked
        head, reranked = await _reranked(runtime, vector, image_hits[:rerank_depth], page, known, timings)
        image_hits = head + image_hits[rerank_depth:]
    started = time.perf_counter()
    fused = reciprocal_rank_fusion(
        [(hit.id, hit.score) for hit in image_hits if hit.id != page.exclude_id],
        [item.id for item in text_items if item.id != page.exclude_id],
        k=runtime.settings.api.rrf_k,
    )
    timings.add("fuse", time.perf_counter() - started)
    if page.one_per_product:
        await _fetch_missing(runtime, [hit.id for hit in fused], known, timings)
        ranked = collapse([hit for hit in fused if hit.id in known], key=lambda hit: known[hit.id].product_id)
        window = ranked[offset:depth]
    else:
        ranked = fused
        window = fused[offset:depth]
        await _fetch_missing(runtime, [hit.id for hit in window], known, timings)
    has_more = len(ranked) > depth and depth < max_depth
    return SearchResponse(
        hits=[_hit(hit, known[hit.id], page.text is not None) for hit in window if hit.id in known],
        next_cursor=encode_cursor(depth, page.fingerprint) if has_more else None,
        model_version=(page.collection or runtime.stores.serving).version,
        fusion=_fusion(vector, page.text),
        rerank=reranked,
    )


def _reranks(vector: NDArray[np.float32] | None, page: PageRequest) -> bool:
    """Whether the page's image ranking gets a second look: a photo query, a re-ranker, the photo's thumbnail."""
    return vector is not None and page.rerank != "none" and page.query_thumbnail is not None


async def _reranked(
    runtime: Runtime, vector: NDArray[np.float32], head: list[VectorHit], page: PageRequest,
    known: dict[str, CatalogItem], timings: Timings,
) -> tuple[list[VectorHit], Reranker]:  # fmt: skip
    """The first candidates in the re-ranker's order (their metadata, thumbnails included, added to known), and
    the re-ranker that ordered them: none when a candidate has no thumbnail (indexed before they existed);
    ssim_cosine for `learned` when no pair scorer of the query's model is loaded."""
    collection = page.collection or runtime.stores.serving
    scorer = runtime.pair_scorer_for(collection) if page.rerank == "learned" else None
    ids = [hit.id for hit in head]

    async def stored_vectors() -> dict[str, NDArray[np.float32]]:
        if scorer is None:
            return {}
        get = lambda: runtime.stores.vectors(collection).get_vectors(ids)  # noqa: E731
        return await runtime.stores.call("milvus", "get", get, timings)

    # the candidates' thumbnails (Solr) and, for the learned scorer, their vectors (Milvus), at once
    _, stored = await asyncio.gather(_fetch_missing(runtime, ids, known, timings), stored_vectors())
    thumbnails = [known[hit.id].thumbnail if hit.id in known else None for hit in head]
    if not head or page.query_thumbnail is None or any(thumbnail is None for thumbnail in thumbnails):
        return head, "none"
    candidates = np.stack([thumbnail_from_text(str(thumbnail)) for thumbnail in thumbnails])  # (K, H, W)
    if scorer is not None and len(stored) == len(ids):
        started = time.perf_counter()
        order = scorer.order(vector, np.stack([stored[i] for i in ids]), page.query_thumbnail, candidates)
        timings.add("rerank", time.perf_counter() - started)
        return [head[i] for i in order], "learned"
    how: Reranker = "ssim_cosine" if page.rerank == "learned" else page.rerank
    started = time.perf_counter()
    order = rerank(page.query_thumbnail, candidates, np.array([hit.score for hit in head], dtype=np.float32), how)
    timings.add("rerank", time.perf_counter() - started)
    return [head[i] for i in order], how


def _fusion(vector: NDArray[np.float32] | None, text: str | None) -> Literal["image", "rrf", "text"]:
    """Which rankings made the page: the image's, the text's, or both fused."""
    if vector is None:
        return "text"
    return "image" if text is None else "rrf"


async def _rankings(
    runtime: Runtime, vector: NDArray[np.float32] | None, page: PageRequest, limit: int, timings: Timings
) -> tuple[list[VectorHit], list[CatalogItem]]:
    """Milvus's ranking and, with text, Solr's (both at once, in the thread pool); no vector: Solr's, limit deep."""
    if vector is None:
        return [], await _text_ranking(runtime, page, limit, timings)
    collection = page.collection or runtime.stores.serving
    milvus = runtime.queries.search_vectors(vector, collection, limit, page.search_filter, timings)  # micro-batched
    if page.text is None:
        return await milvus, []
    solr = _text_ranking(runtime, page, runtime.settings.api.text_candidates, timings)
    image_hits, text_items = await asyncio.gather(milvus, solr)
    return image_hits, text_items


async def _text_ranking(runtime: Runtime, page: PageRequest, rows: int, timings: Timings) -> list[CatalogItem]:
    """Solr's best-first items for the page's text under its filters, at most rows of them."""
    text, search_filter = page.text, page.search_filter  # Solr's items are every model's: no version filter
    found = await runtime.stores.call(
        "solr", "text", lambda: runtime.stores.metadata().search(text, search_filter, rows), timings
    )
    return found.items


async def _fetch_missing(runtime: Runtime, ids: list[str], known: dict[str, CatalogItem], timings: Timings) -> None:
    """Add to known the Solr metadata of the ids it lacks, in one request."""
    missing = [item_id for item_id in ids if item_id not in known]
    if missing:
        known.update(await runtime.stores.call("solr", "get", lambda: runtime.stores.metadata().get(missing), timings))


def _hit(hit: FusedHit, item: CatalogItem, fused: bool) -> Hit:
    """The response hit of a ranked item."""
    score = hit.score if fused else (hit.image_score or 0.0)
    return Hit(**shown_fields(item), score=score, image_score=hit.image_score, text_rank=hit.text_rank)
