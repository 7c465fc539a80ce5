"""POST /v1/search: search the catalog by photo or by words, with filters, paging and collapsing."""

import time
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response
from numpy.typing import NDArray
from pydantic import ValidationError

from api.catalog_search import PageRequest, search_page
from api.cursor import decode_cursor, query_fingerprint
from api.deps import RuntimeDep
from api.errors import BadFilter, InvalidField
from api.query_images import MAX_FORM_FIELDS, openapi_request_body, read_search_query
from api.runtime import Runtime
from api.schemas import Filters, SearchOptions, SearchRequest, SearchResponse, error_responses, links_to_item
from api.store_clients import CollectionKey
from api.timings import Timings
from indexer.item import FILTER_FIELDS
from indexer.search_filter import SearchFilter
from indexer.validation import validation_problems

router = APIRouter(prefix="/v1", tags=["search"])
NO_QUERY = "give a photo (`image`, `image_b64` or `image_url`) or words (`q`), or both"


def search_filter_of(filters: Filters) -> SearchFilter | None:
    """The indexer's filter; BadFilter (400) when the filters contradict each other."""
    try:
        return filters.to_search_filter()
    except ValidationError as error:
        raise BadFilter(validation_problems(error.errors(), subject="filters")) from error


def page_size(requested: int | None, runtime: Runtime) -> int:
    """k, defaulted and bounded by the settings (InvalidField above k_max)."""
    if requested is None:
        return runtime.settings.api.k_default
    if requested > runtime.settings.api.k_max:
        raise InvalidField(f"k: at most {runtime.settings.api.k_max}")
    return requested


def filter_key(filters: Filters) -> dict[str, object]:
    """The filters as fingerprint material: lists sorted, so their order does not change the query."""
    fields = filters.model_dump(include=set(Filters.model_fields), exclude_none=True)
    return {name: sorted(value) if isinstance(value, list) else value for name, value in fields.items()}


def timed_json(body: SearchResponse, timings: Timings, runtime: Runtime) -> Response:
    """The response, serialised here so that serialisation is timed too; stages in `Server-Timing`."""
    started = time.perf_counter()
    content = body.model_dump_json()
    timings.add("serialise", time.perf_counter() - started)
    for stage, ms in timings.stages.items():
        runtime.metrics.stages.labels(stage).observe(ms / 1000)
    return Response(content, media_type="application/json", headers={"Server-Timing": timings.server_timing()})


async def read_query(request: Request, runtime: Runtime, timings: Timings) -> tuple[bytes | None, SearchOptions]:
    """The query image (None for a search by words only) and the options; InvalidField when neither is given."""
    options = await text_only_options(request)
    if options is None:
        return await read_search_query(request, runtime, timings)
    return None, options


async def text_only_options(request: Request) -> SearchOptions | None:
    """The options of a request that carries no image; None when it has one (or is not JSON or multipart)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)  # parsed once: Starlette keeps it
        if "image" in form:
            return None
        fields = {name: form.getlist(name) if name in FILTER_FIELDS else form.getlist(name)[-1] for name in form}
        return _options(fields)
    if media_type == "application/json":
        try:
            query = SearchRequest.model_validate_json(await request.body())  # the body is kept for a second read
        except ValidationError:
            return None  # read_search_query says what is wrong
        if query.image_b64 is None and query.image_url is None:
            return _options(query.model_dump(exclude={"image_b64", "image_url"}))
    return None


def _options(fields: dict[str, Any]) -> SearchOptions:
    """The search options of these fields; InvalidField naming the bad ones."""
    if not (isinstance(fields.get("q"), str) and fields["q"].strip()):
        raise InvalidField(NO_QUERY)
    try:
        return SearchOptions.model_validate(fields)
    except ValidationError as error:
        raise InvalidField(validation_problems(error.errors())) from error


async def query_vector(
    runtime: Runtime, image: bytes | None, text: str | None, timings: Timings
) -> tuple[NDArray[np.float32], CollectionKey] | None:
    """The photo's embedding; for words alone, their text embedding when a text encoder is loaded; else None. With
    the collection of the model that made it (the serving one, unless a promotion switched models meanwhile)."""
    if image is not None:
        embedder = runtime.embedder  # read once: the vector and its collection are of the same model
        return await runtime.queries.embed(image, embedder, timings), runtime.collection_of(embedder)
    collection = runtime.text_collection()
    if text is None or runtime.text_encoder is None or collection is None:
        return None
    started = time.perf_counter()
    vector = runtime.text_encoder.embed([text])[0]  # (D,), in the image space: well under a millisecond
    timings.add("embed-text", time.perf_counter() - started)
    return vector, collection


def request_body_spec() -> dict[str, Any]:
    """The OpenAPI requestBody of the search: the image is optional in the multipart form too (`q` alone)."""
    spec = openapi_request_body()
    spec["content"]["multipart/form-data"]["schema"].pop("required", None)
    return spec


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={200: links_to_item("$response.body#/hits/0/id"), **error_responses(400, 413, 415, 422, 429, 503)},
    openapi_extra={"requestBody": request_body_spec()},
    summary="Search by photo or by words",
)
async def search(request: Request, runtime: RuntimeDep) -> Response:
    """Search by photo (multipart `image` + form fields, or JSON `image_b64` / `image_url`), by words (`q` alone),
    or both.

    Filters narrow the image search in Milvus itself; `q` adds Solr text relevance, fused by reciprocal rank
    fusion; with `q` alone the order is Solr's (BM25), fused with the text embedding's Milvus ranking when a text
    encoder is configured (`CBIR_EMBEDDING_TEXT_ENCODER_PATH`). `cursor` is the previous page's `next_cursor`;
    `one_per_product` keeps each product's best photo. Neither a photo nor words: 422.
    """
    timings = Timings()
    image, options = await read_query(request, runtime, timings)
    search_filter = search_filter_of(options)
    k = page_size(options.k, runtime)
    text = options.q.strip() if options.q and options.q.strip() else None
    how = options.rerank or runtime.settings.api.rerank
    fingerprint = query_fingerprint(
        image=image, filters=filter_key(options), q=text, one=options.one_per_product, model=runtime.model_version,
        rerank=how,
    )  # fmt: skip
    offset = decode_cursor(options.cursor, fingerprint, max_offset=runtime.settings.api.max_depth - 1)
    vector, collection = await query_vector(runtime, image, text, timings) or (None, None)
    thumbnail = await runtime.queries.thumbnail(image, timings) if image is not None and how != "none" else None
    page = PageRequest(
        search_filter, text, k, offset, fingerprint, options.one_per_product, rerank=how, query_thumbnail=thumbnail,
        collection=collection,
    )  # fmt: skip
    return timed_json(await search_page(runtime, vector, page, timings), timings, runtime)
