"""The catalog item: one product photo as indexed in Milvus (vector + filters) and Solr (metadata)."""

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

ITEM_ID_LENGTH = 64
MAX_PRODUCT_ID_LENGTH = 256
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls and DEL, but tab and newlines
SHA256_PATTERN = r"^[0-9a-f]{64}$"
# CatalogItem's fields that are not the product's: derived from the photo and the embedder, never given by crawlers
DERIVED_FIELDS = ("id", "photo_sha256", "model_version", "thumbnail")
# CatalogItem's text fields that searches filter on (any of several values) and count as facets
FILTER_FIELDS = ("category", "brand", "colour", "source_site")


def _to_utc(value: datetime) -> datetime:
    """The same time in UTC; ValueError if that leaves the years datetime can hold (9999-12-31T23:59:59-14:00)."""
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("out of range once converted to UTC") from error


# A time with a zone, stored in UTC (Solr dates are UTC)
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def photo_sha256(photo: bytes) -> str:
    """The SHA-256 of a photo's bytes (hex): the same photo under any name or URL is the same photo."""
    return hashlib.sha256(photo).hexdigest()


def item_id(product_id: str, photo_sha256: str) -> str:
    """The item id of one photo of one product: one photo under two products is two items, and re-publishing
    a product's photo overwrites its item."""
    return hashlib.sha256(f"{photo_sha256}:{product_id}".encode()).hexdigest()  # fixed-length prefix: unambiguous


class ProductFields(BaseModel):
    """The catalog fields of one product photo: shared by the catalog item and the crawlers' ingest message."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    product_id: str = Field(
        min_length=1, max_length=MAX_PRODUCT_ID_LENGTH, description="The product (also the Kafka message key)"
    )
    title: str = Field(min_length=1, max_length=1000)
    brand: str = Field(min_length=1, max_length=256)
    category: str = Field(min_length=1, max_length=128)
    colour: str = Field(min_length=1, max_length=64)
    price: float = Field(ge=0, description="A number (not a boolean)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    product_url: str = Field(pattern=r"^https?://", max_length=2048)
    image_url: str = Field(
        pattern=r"^https?://", max_length=2048, description="Where the photo is shown from (and fetched from)"
    )
    source_site: str = Field(min_length=1, max_length=128)
    crawled_at: UtcDatetime = Field(
        description="When the product was crawled: every photo of one crawl carries the same time, and a newer "
        "crawl replaces the product's photos"
    )
    in_stock: bool = True

    @field_validator("price", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        """true is not a price (pydantic would read it as 1.0)."""
        if isinstance(value, bool):
            raise ValueError("a price is a number, not a boolean")
        return value

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        """Text holds no control characters (Solr refuses them, and no catalog field needs them)."""
        if isinstance(value, str) and (found := CONTROL_CHARACTERS.search(value)):
            raise ValueError(f"control character {found.group()!r} at position {found.start()}")
        return value


class CatalogItem(ProductFields):
    """One catalog photo and the product it shows. Field names are those of the Solr schema."""

    id: str = Field(pattern=SHA256_PATTERN, description="item_id(product_id, photo_sha256)")
    photo_sha256: str = Field(pattern=SHA256_PATTERN, description="photo_sha256() of the photo's bytes")
    model_version: str = Field(min_length=1, max_length=128, description="embedder checkpoint that made the vector")
    thumbnail: str | None = Field(
        default=None, max_length=4096, pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="the photo's small grey thumbnail, base64 (embedder.rerank.thumbnail_text): what the search's "
        "re-ranker compares; None for items indexed before it existed",
    )  # fmt: skip
