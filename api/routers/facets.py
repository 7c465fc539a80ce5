"""GET /v1/facets: category, brand, colour and source-site counts under the same filters as a search."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import RuntimeDep
from api.routers.search import search_filter_of
from api.schemas import FacetQuery, FacetsResponse, error_responses
from indexer.item import FILTER_FIELDS

router = APIRouter(prefix="/v1", tags=["facets"])


@router.get(
    "/facets", response_model=FacetsResponse, responses=error_responses(400, 422, 429, 503), summary="Facet counts"
)
async def facets(query: Annotated[FacetQuery, Query()], runtime: RuntimeDep) -> FacetsResponse:
    """How many indexed items have each category, brand, colour and source site, under the filters and text."""
    search_filter = search_filter_of(query)
    text = query.q.strip() if query.q and query.q.strip() else None
    counts = await runtime.stores.call(  # Solr's items are every model's: complete during a promotion
        "solr", "facets", lambda: runtime.stores.metadata().facet_counts(text, search_filter)
    )
    return FacetsResponse(facets={field: counts.get(field, {}) for field in FILTER_FIELDS})
