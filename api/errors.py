"""Domain errors of the API, raised where the problem is found; `api/error_handlers.py` turns them into HTTP."""


class ApiError(Exception):
    """Base class of the API's errors."""


class PayloadTooLarge(ApiError):
    """The request body or the query image is larger than the configured limit."""


class UnsupportedMediaType(ApiError):
    """The request body is neither multipart/form-data nor JSON."""


class NotAnImage(ApiError):
    """The query image cannot be decoded, fetched or read as an image."""


class InvalidField(ApiError):
    """A request field is missing, of the wrong type or out of range."""


class MalformedBody(ApiError):
    """The request body cannot be parsed at all (broken JSON or multipart)."""


class BadFilter(ApiError):
    """The filters are well-typed but make no sense together (an empty price range, ...)."""


class BadCursor(ApiError):
    """A pagination cursor is malformed, or was issued for another query."""


class ItemNotFound(ApiError):
    """No indexed item has this id."""


class ProductNotFound(ApiError):
    """No status record names this product: it was never published, or published to Kafka directly and not yet
    processed."""


class MissingApiKey(ApiError):
    """The request needs an API key and has none."""


class WrongApiKey(ApiError):
    """The API key given is not one of the configured keys."""


class PublishUnavailable(ApiError):
    """Kafka did not accept the message (unreachable, or delivery not confirmed)."""


class ProposalsNotFound(ApiError):
    """No mining proposals to annotate: `cbir mine` has not written them, or the cluster is not among them."""


class RetryLater(ApiError):
    """The request was refused for now; it may be sent again after retry_after_s seconds."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Overloaded(RetryLater):
    """A work pool (image fetches, embeddings) is full: the request is shed rather than queued without limit."""


class StatusUnavailable(RetryLater):
    """The product statuses are not read yet (start-up, or Kafka down since start-up)."""


class RateLimited(RetryLater):
    """The client sent more requests than its rate limit allows."""
