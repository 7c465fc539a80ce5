"""Error mapping, API-key comparison and filter parsing: the pure parts of the request path."""

import pytest
from pydantic import ValidationError

from api import errors
from api.deps import key_matches
from api.error_handlers import status_of
from api.schemas import Filters, SearchOptions
from embedder.errors import EmptyInputError, ImageDecodeError
from indexer.errors import DimensionMismatch, StoreRequestRejected, StoreUnavailable
from ingest.errors import KafkaUnavailable, RecordRejected


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.PayloadTooLarge("x"), 413, "payload_too_large"),
        (errors.UnsupportedMediaType("x"), 415, "unsupported_media_type"),
        (errors.NotAnImage("x"), 422, "not_an_image"),
        (ImageDecodeError("x"), 422, "not_an_image"),
        (EmptyInputError("x"), 422, "not_an_image"),
        (RecordRejected("fetch", "x"), 422, "not_an_image"),
        (errors.InvalidField("x"), 422, "invalid_field"),
        (errors.BadFilter("x"), 400, "bad_filter"),
        (errors.BadCursor("x"), 400, "bad_cursor"),
        (errors.MalformedBody("x"), 400, "malformed_body"),
        (errors.MissingApiKey("x"), 401, "missing_api_key"),
        (errors.WrongApiKey("x"), 403, "wrong_api_key"),
        (errors.ItemNotFound("x"), 404, "item_not_found"),
        (errors.ProductNotFound("x"), 404, "unknown_product"),
        (errors.StatusUnavailable("x", retry_after_s=5), 503, "status_unavailable"),
        (StoreUnavailable("x"), 503, "store_unavailable"),
        (StoreRequestRejected("x"), 503, "store_rejected_request"),
        (DimensionMismatch("x"), 503, "store_misconfigured"),
        (KafkaUnavailable("x"), 503, "kafka_unavailable"),
        (RuntimeError("x"), 500, "internal_error"),
    ],
)
def test_each_error_has_its_status(error: Exception, status: int, code: str) -> None:
    assert status_of(error) == (status, code)


def test_keys_compare_exactly() -> None:
    assert key_matches("secret-2", ["secret-1", "secret-2"])
    assert not key_matches("secret-", ["secret-1"])
    assert not key_matches("secret-1x", ["secret-1"])
    assert not key_matches("anything", [])
    assert key_matches("clé-ü", ["clé-ü"])  # non-ASCII keys compare as UTF-8 bytes


def test_filters_become_the_indexer_filter() -> None:
    assert Filters().to_search_filter() is None
    search_filter = SearchOptions(category=["dress"], price_max=50, k=3, q="linen").to_search_filter()
    assert search_filter is not None
    assert search_filter.model_dump(exclude_none=True) == {"category": ["dress"], "price_max": 50.0}
    with pytest.raises(ValidationError, match="price_min 50.0 is above price_max 10.0"):
        Filters(price_min=50, price_max=10).to_search_filter()


def test_filter_fields_are_typed() -> None:
    with pytest.raises(ValidationError):
        Filters(category=[""])
    with pytest.raises(ValidationError):
        Filters(price_min=-1)
    with pytest.raises(ValidationError):
        SearchOptions.model_validate({"k": 0})
    with pytest.raises(ValidationError):
        SearchOptions.model_validate({"unknown": 1})
