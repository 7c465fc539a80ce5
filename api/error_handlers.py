"""The one place where errors become HTTP responses: a status and `{"error": {"code": ..., "message": ...}}`."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors
from embedder.errors import EmbedderError
from indexer.errors import DimensionMismatch, IndexerError, StoreRequestRejected, StoreUnavailable
from indexer.validation import validation_problems
from ingest.errors import IngestError, KafkaUnavailable, PublishFailed, RecordRejected
from ingest.fetch import ImageUnavailable

logger = logging.getLogger(__name__)

# Domain error class -> (HTTP status, machine-readable code). The first matching class (in MRO order) wins.
ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    errors.PayloadTooLarge: (413, "payload_too_large"),
    errors.UnsupportedMediaType: (415, "unsupported_media_type"),
    errors.NotAnImage: (422, "not_an_image"),
    errors.InvalidField: (422, "invalid_field"),
    errors.MalformedBody: (400, "malformed_body"),
    errors.BadFilter: (400, "bad_filter"),
    errors.BadCursor: (400, "bad_cursor"),
    errors.ItemNotFound: (404, "item_not_found"),
    errors.ProposalsNotFound: (404, "proposals_not_found"),
    errors.ProductNotFound: (404, "unknown_product"),
    errors.MissingApiKey: (401, "missing_api_key"),
    errors.WrongApiKey: (403, "wrong_api_key"),
    errors.PublishUnavailable: (503, "kafka_unavailable"),
    errors.Overloaded: (503, "overloaded"),
    errors.StatusUnavailable: (503, "status_unavailable"),
    errors.RateLimited: (429, "rate_limited"),
    EmbedderError: (422, "not_an_image"),
    StoreUnavailable: (503, "store_unavailable"),
    DimensionMismatch: (503, "store_misconfigured"),
    StoreRequestRejected: (503, "store_rejected_request"),
    RecordRejected: (422, "not_an_image"),
    ImageUnavailable: (422, "image_unavailable"),
    KafkaUnavailable: (503, "kafka_unavailable"),
    PublishFailed: (503, "kafka_unavailable"),
}
HTTP_CODES = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def status_of(error: Exception) -> tuple[int, str]:
    """The HTTP status and code of a domain error (500 / internal_error for anything unexpected)."""
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500, "internal_error"


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    status, code = status_of(error)
    if status >= 500:
        level = logging.ERROR if status == 500 else logging.WARNING
        logger.log(level, "%s %s -> %d: %s", request.method, request.url.path, status, error)
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    if isinstance(error, errors.RetryLater):
        headers = {"Retry-After": str(error.retry_after_s)}
    return JSONResponse(error_body(code, str(error) or code), status_code=status, headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(error_body("invalid_field", validation_problems(error.errors())), status_code=422)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
    return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: domain errors, request validation, HTTP errors (404 routes, bad multipart)."""
    for cls in (errors.ApiError, EmbedderError, IndexerError, IngestError, Exception):
        app.add_exception_handler(cls, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
