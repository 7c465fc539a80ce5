"""The ingest message: what a crawler publishes to Kafka topic `images` (JSON, versioned), and its parsing.

An upsert carries one product photo and its catalog fields, the photo's bytes either fetched from `image_url`
or given inline as `image_b64`. A crawl of a product publishes every current photo of it with the same
`crawled_at`; writing a newer crawl removes the photos of older ones, and an upsert older than the newest crawl or
than the product's last delete is skipped. A delete removes every photo of a product crawled at or before its
`deleted_at`. Messages are keyed by product id.
"""

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from indexer.item import MAX_PRODUCT_ID_LENGTH, CatalogItem, ProductFields, UtcDatetime, item_id
from indexer.validation import validation_problems
from ingest.errors import RecordRejected

SCHEMA_VERSION: Literal[1] = 1
PARSE_STAGE = "parse"


class _MessageBase(BaseModel):
    """Fields every message has."""

    # allow_inf_nan=False: JSON such as `"price": 1e999` parses to infinity, which JSON cannot carry on
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    schema_version: Literal[1] = Field(description="Version of this contract; a breaking change bumps it")
    product_id: str = Field(
        min_length=1, max_length=MAX_PRODUCT_ID_LENGTH, description="The Kafka key: one product stays ordered"
    )


class UpsertMessage(ProductFields, _MessageBase):
    """One photo of a product's crawl. Re-publishing the same photo of the same product overwrites it."""

    op: Literal["upsert"]
    colour: str | None = Field(  # type: ignore[assignment]  # optional here, required in the catalog item
        default=None,
        min_length=1,
        max_length=64,
        description="When absent (or null), the ingest derives it from the photo: the garment's dominant colour",
    )
    image_b64: str | None = Field(
        default=None, description="The photo's bytes (standard base64); when given, image_url is not fetched"
    )

    def image_bytes(self) -> bytes | None:
        """The inline photo, or None when it must be fetched from image_url. RecordRejected if not base64."""
        if self.image_b64 is None:
            return None
        try:
            return base64.b64decode(self.image_b64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RecordRejected(PARSE_STAGE, f"image_b64 is not valid base64: {error}") from error

    def with_colour(self, derived: Callable[[], str]) -> "UpsertMessage":
        """This message with its colour, or, when the crawler sent none, the derived one."""
        return self if self.colour is not None else self.model_copy(update={"colour": derived()})

    def without_image(self) -> "UpsertMessage":
        """This message without its inline bytes (what travels on after decoding)."""
        return self.model_copy(update={"image_b64": None})

    def to_item(self, photo_sha256: str, model_version: str, thumbnail: str | None = None) -> CatalogItem:
        """The catalog item of this photo, given the photo_sha256 of its bytes, the model version and the
        photo's thumbnail (the colour must be known by then: `with_colour`)."""
        fields = self.model_dump(exclude={"schema_version", "op", "image_b64"})
        identity = item_id(self.product_id, photo_sha256)
        return CatalogItem(
            id=identity, photo_sha256=photo_sha256, model_version=model_version, thumbnail=thumbnail, **fields
        )


class DeleteMessage(_MessageBase):
    """Remove every photo of a product from both stores, unless a newer crawl of it is already stored."""

    op: Literal["delete"]
    deleted_at: UtcDatetime | None = Field(
        default=None,
        description="When the product was delisted: upserts crawled at or before it are skipped; when absent, the "
        "time the delete was published to Kafka (its record timestamp)",
    )

    def dated(self, published_at: datetime) -> "DeleteMessage":
        """This delete, dated published_at unless it carries its own deleted_at."""
        return self if self.deleted_at is not None else self.model_copy(update={"deleted_at": published_at})


IngestMessage = Annotated[UpsertMessage | DeleteMessage, Field(discriminator="op")]
_ADAPTER: TypeAdapter[UpsertMessage | DeleteMessage] = TypeAdapter(IngestMessage)


def parse_message(raw: bytes | str) -> UpsertMessage | DeleteMessage:
    """The message in raw JSON, or RecordRejected (stage `parse`) saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordRejected(PARSE_STAGE, f"not JSON: {error}") from error
    except RecursionError as error:
        raise RecordRejected(PARSE_STAGE, "not JSON we read: nested too deeply") from error
    if not isinstance(data, dict):
        raise RecordRejected(PARSE_STAGE, f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:  # type(): True == 1 in Python
        raise RecordRejected(PARSE_STAGE, f"unsupported schema_version {version!r}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        problems = validation_problems(error.errors(), subject="message", most=None)
        raise RecordRejected(PARSE_STAGE, f"invalid message: {problems}") from error


def encode_message(message: UpsertMessage | DeleteMessage) -> bytes:
    """The JSON bytes published to Kafka."""
    return message.model_dump_json(exclude_none=True).encode()


def message_json_schema() -> dict[str, Any]:
    """The JSON Schema of the contract (written to schemas/ingest-message.v1.schema.json)."""
    schema = _ADAPTER.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/cbir-fashion/cbir-fashion/schemas/ingest-message.v1.schema.json",
        "title": "IngestMessage",
        "description": __doc__.strip() if __doc__ else "",
        **schema,
    }
