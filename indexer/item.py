"""The catalog item: one product photo as indexed in Milvus (vector + filters) and Solr (metadata)."""

import hashlib
import re
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

ITEM_ID_LENGTH = 64
MAX_PRODUCT_ID_LENGTH = 256
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls and DEL, but tab and newlines


def item_id_for_image(image: bytes) -> str:
    """The item id of an image: the SHA-256 of its bytes, so re-publishing the same photo overwrites it."""
    return hashlib.sha256(image).hexdigest()


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
    price: float = Field(ge=0, strict=True, description="A JSON number (not a string, not a boolean)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    product_url: str = Field(pattern=r"^https?://", max_length=2048)
    image_url: str = Field(
        pattern=r"^https?://", max_length=2048, description="Where the photo is shown from (and fetched from)"
    )
    source_site: str = Field(min_length=1, max_length=128)
    crawled_at: AwareDatetime
    in_stock: bool = True

    @field_validator("crawled_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        """Store every time in UTC (Solr dates are UTC)."""
        try:
            return value.astimezone(UTC)
        except OverflowError as error:  # e.g. 9999-12-31T23:59:59-14:00
            raise ValueError("out of range once converted to UTC") from error

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        """Text holds no control characters (Solr refuses them, and no catalog field needs them)."""
        if isinstance(value, str) and (found := CONTROL_CHARACTERS.search(value)):
            raise ValueError(f"control character {found.group()!r} at position {found.start()}")
        return value


class CatalogItem(ProductFields):
    """One catalog photo and the product it shows. Field names are those of the Solr schema."""

    id: str = Field(pattern=r"^[0-9a-f]{64}$", description="item_id_for_image() of the photo")
    model_version: str = Field(min_length=1, max_length=128, description="embedder checkpoint that made the vector")
