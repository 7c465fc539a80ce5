"""Products: GET /v1/products/{product_id}/status (what became of a published product; API key)."""

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ApiKeyDep, RuntimeDep
from api.schemas import ProductPhoto, ProductStatusResponse, error_responses

router = APIRouter(prefix="/v1/products", tags=["products"])

ProductIdPath = Annotated[str, Path(min_length=1, max_length=256, description="The product id (the message key)")]


@router.get(
    "/{product_id:path}/status",
    response_model=ProductStatusResponse,
    responses=error_responses(401, 403, 404, 422, 503),
    summary="What became of a published product (API key)",
    operation_id="productStatus",
)
async def product_status(product_id: ProductIdPath, runtime: RuntimeDep, _: ApiKeyDep) -> ProductStatusResponse:
    """The state of the latest message about the product (queued, searchable, deleted or dead-lettered with its
    stage and reason), from the topology's status topic, and the product's photos in the index now."""
    status = runtime.products.product_status(product_id)
    version = status.model_version or runtime.model_version
    photos = await runtime.stores.call("solr", "product", lambda: runtime.products.product_photos(status))
    return ProductStatusResponse(
        product_id=status.product_id, state=status.state, updated_at=status.at,
        photos=[ProductPhoto(id=item.id, image_url=item.image_url) for item in photos], model_version=version,
        stage=status.stage, reason=status.reason, source=status.source or None,
    )  # fmt: skip
