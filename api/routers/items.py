"""Items: GET /v1/items/{item_id}, GET /v1/items/{item_id}/similar, POST /v1/items (publish, API key)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.catalog_search import PageRequest, search_page
from api.cursor import decode_cursor, query_fingerprint
from api.deps import ApiKeyDep, RuntimeDep
from api.errors import ItemNotFound, PayloadTooLarge
from api.routers.search import filter_key, page_size, search_filter_of, timed_json
from api.runtime import Runtime
from api.schemas import (
    Item,
    ItemId,
    PublishAccepted,
    SearchResponse,
    SimilarQuery,
    error_responses,
    links_to_item,
    shown_fields,
)
from api.timings import Timings
from embedder.rerank import thumbnail_from_text
from indexer.item import CatalogItem
from ingest.message import UpsertMessage, encode_message
from ingest.topics import MAX_MESSAGE_BYTES

router = APIRouter(prefix="/v1/items", tags=["items"])

ItemIdPath = Annotated[ItemId, Path(description="The item id (from its product id and photo)")]


@router.get(
    "/{item_id}",
    response_model=Item,
    responses={200: links_to_item("$response.body#/id"), **error_responses(404, 422, 503)},
    summary="One item",
    operation_id="getItem",
)
async def get_item(item_id: ItemIdPath, runtime: RuntimeDep) -> Item:
    """The catalog fields of one indexed item."""
    item = await _stored_item(item_id, runtime)
    return Item(**shown_fields(item))


async def _stored_item(item_id: str, runtime: Runtime) -> CatalogItem:
    """The indexed item of this id, or ItemNotFound."""
    found = await runtime.stores.call("solr", "get", lambda: runtime.stores.metadata().get([item_id]))
    if item_id not in found:
        raise ItemNotFound(f"no item {item_id}")
    return found[item_id]


@router.get(
    "/{item_id}/photo",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}}, **error_responses(404, 422, 503)},
    summary="An item's photo (when the API serves the catalog's photo folder)",
    operation_id="itemPhoto",
)
async def item_photo(item_id: ItemIdPath, runtime: RuntimeDep) -> FileResponse:
    """The photo file of an item from `CBIR_API_PHOTO_DIR` (404 when not configured or not there)."""
    item = await _stored_item(item_id, runtime)
    path = await run_in_threadpool(runtime.photos.path, item.photo_sha256)
    if path is None:
        raise ItemNotFound(f"no local photo of item {item_id}")
    return FileResponse(path)


@router.get(
    "/{item_id}/similar",
    response_model=SearchResponse,
    responses={200: links_to_item("$response.body#/hits/0/id"), **error_responses(400, 404, 422, 429, 503)},
    summary="Items similar to an indexed item",
    operation_id="similarItems",
)
async def similar_items(item_id: ItemIdPath, query: Annotated[SimilarQuery, Query()], runtime: RuntimeDep) -> Response:
    """Search by an indexed item's stored vector (no upload): the same filters, paging and collapsing."""
    timings = Timings()
    search_filter = search_filter_of(query)
    k = page_size(query.k, runtime)
    how = runtime.settings.api.rerank
    fingerprint = query_fingerprint(item=item_id, filters=filter_key(query), one=query.one_per_product, rerank=how)
    offset = decode_cursor(query.cursor, fingerprint, max_offset=runtime.settings.api.max_depth - 1)
    collection = runtime.stores.serving  # read once: the item's vector and the search are of one model
    vectors = await runtime.stores.call(
        "milvus", "get", lambda: runtime.stores.vectors(collection).get_vectors([item_id]), timings
    )
    if item_id not in vectors:
        raise ItemNotFound(f"no item {item_id} in the {collection.version} index")
    thumbnail = (await _stored_item(item_id, runtime)).thumbnail if how != "none" else None
    page = PageRequest(
        search_filter,
        None,
        k,
        offset,
        fingerprint,
        query.one_per_product,
        exclude_id=item_id,
        rerank=how,
        query_thumbnail=thumbnail_from_text(thumbnail) if thumbnail else None,
        collection=collection,
    )  # fmt: skip  (the item's own thumbnail: the same second look as a search by its photo)
    return timed_json(await search_page(runtime, vectors[item_id], page, timings), timings, runtime)


@router.post(
    "",
    status_code=202,
    response_model=PublishAccepted,
    responses={
        202: {
            "links": {
                "ProductStatus": {
                    "operationId": "productStatus",
                    "parameters": {"product_id": "$response.body#/product_id"},
                }
            }
        },
        **error_responses(400, 401, 403, 413, 422, 429, 503),
    },  # fmt: skip
    summary="Publish an item for ingestion (API key)",
)
async def publish_item(message: UpsertMessage, runtime: RuntimeDep, _: ApiKeyDep) -> PublishAccepted:
    """Publish one upsert message, the crawlers' contract, to Kafka; the ingest topology indexes it."""
    message.image_bytes()  # RecordRejected (422) for image_b64 that is not base64
    size = len(encode_message(message))
    if size > MAX_MESSAGE_BYTES - 1024:  # room for the record's key and headers
        raise PayloadTooLarge(f"the message is {size} bytes; Kafka takes at most {MAX_MESSAGE_BYTES - 1024}")
    record = await run_in_threadpool(runtime.products.publish, message)
    return PublishAccepted(
        product_id=message.product_id, topic=record.topic, partition=record.partition, offset=record.offset
    )
