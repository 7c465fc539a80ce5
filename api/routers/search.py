"""POST /v1/search: search the catalog by photo, with filters, optional text, paging and collapsing."""

import time

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from api.catalog_search import PageRequest, search_page
from api.cursor import decode_cursor, query_fingerprint
from api.deps import RuntimeDep
from api.errors import BadFilter, InvalidField
from api.query_images import openapi_request_body, read_search_query
from api.runtime import Runtime, Timings
from api.schemas import Filters, SearchResponse, error_responses
from indexer.search_filter import SearchFilter

router = APIRouter(prefix="/v1", tags=["search"])


def search_filter_of(filters: Filters) -> SearchFilter | None:
    """The indexer's filter; BadFilter (400) when the filters contradict each other."""
    try:
        return filters.to_search_filter()
    except ValidationError as error:
        raise BadFilter(
            "; ".join(problem["msg"].removeprefix("Value error, ") for problem in error.errors())
        ) from error


def page_size(requested: int | None, runtime: Runtime) -> int:
    """k, defaulted and bounded by the settings (InvalidField above k_max)."""
    if requested is None:
        return runtime.settings.k_default
    if requested > runtime.settings.k_max:
        raise InvalidField(f"k: at most {runtime.settings.k_max}")
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


@router.post(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(400, 413, 415, 422, 429, 503),
    openapi_extra={"requestBody": openapi_request_body()},
    summary="Search by photo",
)
async def search(request: Request, runtime: RuntimeDep) -> Response:
    """Search by photo: multipart upload (`image` + form fields) or JSON (`image_b64` or `image_url`).

    Filters narrow the image search in Milvus itself; `q` adds Solr text relevance, fused by reciprocal rank
    fusion; `cursor` is the previous page's `next_cursor`; `one_per_product` keeps each product's best photo.
    """
    timings = Timings()
    image, options = await read_search_query(request, runtime, timings)
    search_filter = search_filter_of(options)
    k = page_size(options.k, runtime)
    text = options.q.strip() if options.q and options.q.strip() else None
    fingerprint = query_fingerprint(
        image=image, filters=filter_key(options), q=text, one=options.one_per_product, model=runtime.model_version
    )
    offset = decode_cursor(options.cursor, fingerprint, max_offset=runtime.settings.max_depth - 1)
    page = PageRequest(search_filter, text, k, offset, fingerprint, options.one_per_product)
    vector = await runtime.embed(image, timings)
    return timed_json(await search_page(runtime, vector, page, timings), timings, runtime)
