"""Request and response models of the API (one module, so the contract can be read in one place)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from embedder.rerank import Reranker
from indexer.item import CatalogItem
from indexer.search_filter import SearchFilter

ItemId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="indexer.item.item_id(product_id, photo)")]
FilterValue = Annotated[str, Field(min_length=1, max_length=256)]
TEXT_MAX = 200
CURSOR_MAX = 512


class Filters(BaseModel):
    """Metadata filters, pushed down into the Milvus search and applied as Solr filter queries alike.

    A list matches any of its values; different fields must all match.
    """

    model_config = ConfigDict(extra="forbid")

    category: list[FilterValue] | None = Field(default=None, max_length=50)
    brand: list[FilterValue] | None = Field(default=None, max_length=50)
    colour: list[FilterValue] | None = Field(default=None, max_length=50)
    source_site: list[FilterValue] | None = Field(default=None, max_length=50)
    price_min: float | None = Field(default=None, ge=0, le=1e9)
    price_max: float | None = Field(default=None, ge=0, le=1e9)
    in_stock: bool | None = None

    def to_search_filter(self) -> SearchFilter | None:
        """The indexer's filter (None when nothing is set); raises ValueError for an empty price range."""
        fields = self.model_dump(include=set(Filters.model_fields), exclude_none=True)
        return SearchFilter(**{name: value for name, value in fields.items() if value != []}) if fields else None


class SearchOptions(Filters):
    """Everything about a search but the query image: filters, text, page size, cursor, collapsing."""

    k: int | None = Field(default=None, ge=1, description="results per page (default and upper bound: settings)")
    q: str | None = Field(default=None, max_length=TEXT_MAX, description="text matched against titles and text")
    cursor: str | None = Field(default=None, max_length=CURSOR_MAX, description="next_cursor of the previous page")
    one_per_product: bool = Field(default=False, description="keep only the best photo of each product")
    rerank: Reranker | None = Field(
        default=None,
        description="a photo search's second look at its first candidates: none, ssim (thumbnails' structural "
        "similarity), ssim_cosine (SSIM over the embedding's cosine distance) or learned (a pairwise scorer of "
        "embeddings and SSIM; ssim_cosine where the server has none for its model); default: the server's",
    )


class SearchRequest(SearchOptions):
    """A JSON search: the query image as `image_b64` (standard base64) or `image_url` (not both), or only words `q`."""

    image_b64: str | None = Field(default=None, description="the photo's bytes, standard base64")
    image_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://", description="fetched by the API"
    )


class SimilarQuery(Filters):
    """Query parameters of /v1/items/{id}/similar (filters as repeated parameters: ?category=a&category=b)."""

    k: int | None = Field(default=None, ge=1)
    cursor: str | None = Field(default=None, max_length=CURSOR_MAX)
    one_per_product: bool = False


class FacetQuery(Filters):
    """Query parameters of /v1/facets."""

    q: str | None = Field(default=None, max_length=TEXT_MAX)


class Item(BaseModel):
    """A catalog item as shoppers see it."""

    id: str
    product_id: str
    title: str
    brand: str
    category: str
    colour: str
    price: float
    currency: str
    product_url: str
    image_url: str
    source_site: str
    in_stock: bool


def shown_fields(item: CatalogItem) -> dict[str, Any]:
    """The fields of a stored item that shoppers see: those of Item (not its photo hash, crawl time or model)."""
    return item.model_dump(include=set(Item.model_fields))


class Hit(Item):
    """One search result: the item, its final score, and the two rankings that made it."""

    score: float = Field(description="cosine similarity of the image, or the RRF score when q is given")
    image_score: float | None = Field(description="cosine similarity to the query image (None: text-only hit)")
    text_rank: int | None = Field(description="1-based rank in Solr's text ranking (None: no text match or no q)")


class SearchResponse(BaseModel):
    """One page of results, best first."""

    hits: list[Hit]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    model_version: str
    fusion: Literal["image", "rrf", "text"] = Field(
        description="image: image similarity only; rrf: fused with text; text: text only (Solr's BM25 order)"
    )
    rerank: Reranker = Field(
        default="none", description="the re-ranker that reordered the image ranking's first candidates (none: none did)"
    )


class FacetsResponse(BaseModel):
    """Per field, how many matching items have each value."""

    facets: dict[str, dict[str, int]]


class PublishAccepted(BaseModel):
    """Where Kafka stored the message; the topology indexes it from there."""

    product_id: str
    topic: str
    partition: int
    offset: int


class ProductPhoto(BaseModel):
    """One photo of a product in the index."""

    id: str
    image_url: str


class ProductStatusResponse(BaseModel):
    """What became of the latest message about a product, and which of its photos the index holds now."""

    product_id: str
    state: Literal["queued", "searchable", "deleted", "dead_lettered"] = Field(
        description="queued: published through this API, not processed yet; searchable: its photo is in both "
        "stores; deleted: every photo removed; dead_lettered: it failed at `stage` for `reason` (see images.dlq)"
    )
    updated_at: datetime = Field(description="when the message was published (queued) or processed")
    photos: list[ProductPhoto] = Field(description="the product's photos in the index now, of model_version")
    model_version: str
    stage: str | None = None
    reason: str | None = None
    source: str | None = Field(default=None, description="topic/partition/offset of a dead-lettered message")


class ClusterDecision(BaseModel):
    """An annotator's decision on one mined cluster: accept the kept photos under a category, or skip it."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "skip"]
    category: str | None = Field(default=None, min_length=1, max_length=128, description="new or existing name")
    item_ids: list[ItemId] = Field(default=[], max_length=10_000, description="the photos that belong (accept)")


class ClusterDecisionResult(BaseModel):
    """What an accepted decision did: items re-published with their new category (their products' other photos
    are re-published too, unchanged, in the same new crawl), labels recorded."""

    cluster: int
    action: str
    published: int
    labels_recorded: int


class RelevanceMark(BaseModel):
    """Whether a search result is relevant to its query photo (an indexed item)."""

    model_config = ConfigDict(extra="forbid")

    query_item_id: ItemId
    result_item_id: ItemId
    relevant: bool


class HealthStatus(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"]


class ComponentStatus(BaseModel):
    """Readiness of one dependency."""

    ok: bool
    detail: str


class ReadyStatus(BaseModel):
    """Readiness: the model is loaded and every store answers."""

    status: Literal["ready", "not_ready"]
    components: dict[str, ComponentStatus]


class ErrorDetail(BaseModel):
    """What went wrong: a machine-readable code and a message for people."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def links_to_item(item_id: str) -> dict[str, object]:
    """OpenAPI links from a response to the item whose id is at the runtime expression item_id (for example
    `$response.body#/hits/0/id`): its fields, similar items and photo. Clients (and the stateful fuzzing in
    tests/api/test_schemathesis.py) follow them."""
    targets = {"Item": "getItem", "SimilarItems": "similarItems", "ItemPhoto": "itemPhoto"}
    return {
        "links": {name: {"operationId": target, "parameters": {"item_id": item_id}} for name, target in targets.items()}
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` entries for these error statuses, all with the ErrorBody schema."""
    descriptions = {
        400: "bad filters or cursor, or a body that cannot be parsed",
        401: "missing API key",
        403: "wrong API key",
        404: "unknown item or product",
        413: "upload too large",
        415: "not multipart/form-data or JSON",
        422: "invalid field or not an image",
        429: "the client's rate limit is exceeded (see Retry-After)",
        503: "a store is unavailable, or the server is at capacity (see Retry-After)",
    }
    return {status: {"model": ErrorBody, "description": descriptions[status]} for status in statuses}
