"""The FastAPI app: `create_app()` (also `uvicorn --factory api.app:create_app`, and `cbir api serve`)."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from api.body_limit import BodySizeLimit
from api.error_handlers import install_error_handlers
from api.metrics import ApiMetrics, MetricsMiddleware
from api.rate_limit import RateLimit, TokenBuckets
from api.routers import annotate, facets, health, items, products, search
from api.runtime import Runtime
from settings import ApiSettings, Settings, resolve_settings

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
# A base64 JSON body is 4/3 of the image, plus the other fields.
BODY_OVERHEAD_BYTES = 64 * 1024


def limit_of(method: str, path: str) -> str | None:
    """The rate limit a request counts against: `search` (searches, similar, facets), `publish`, or none."""
    if (method, path) in (("POST", "/v1/search"), ("GET", "/v1/facets")) or (
        method == "GET" and path.startswith("/v1/items/") and path.endswith("/similar")
    ):
        return "search"
    return "publish" if (method, path) == ("POST", "/v1/items") else None


def rate_limits(settings: ApiSettings) -> dict[str, TokenBuckets]:
    """The per-client buckets of each limit that is switched on."""
    limits = {
        "search": (settings.search_rate_per_s, settings.search_burst),
        "publish": (settings.publish_rate_per_s, settings.publish_burst),
    }
    return {name: TokenBuckets(rate, burst) for name, (rate, burst) in limits.items() if rate > 0}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; its lifespan loads the model and opens the store clients once, and closes them at shutdown.
    Without settings (`uvicorn --factory api.app:create_app`), they are resolved from the environment."""
    settings = settings or resolve_settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings, metrics)
        app.state.runtime = runtime
        logger.info("serving model %s, collection of %s", runtime.embedder.version, runtime.model_version)
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="cbir-fashion search API",
        version="1.0.0",
        summary="Search a fashion catalog by photo, with metadata filters and optional text.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: /docs works without a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in (search.router, items.router, products.router, facets.router, health.router, annotate.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} - docs",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js", swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )  # fmt: skip

    @app.get("/", include_in_schema=False)
    async def shopper_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/annotate", include_in_schema=False)
    async def annotation_page() -> FileResponse:
        """The annotators' page; it asks for the annotator key and sends it with every call."""
        return FileResponse(STATIC_DIR / "annotate.html", media_type="text/html")

    app.add_middleware(BodySizeLimit, max_bytes=settings.fetch.max_image_bytes * 4 // 3 + BODY_OVERHEAD_BYTES)
    app.add_middleware(
        RateLimit, limits=rate_limits(settings.api), classify=limit_of, refused=metrics.rate_limited.labels
    )
    app.add_middleware(MetricsMiddleware, metrics=lambda: metrics)
    return app
