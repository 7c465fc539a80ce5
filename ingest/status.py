"""The product status: what became of the last message about a product (Kafka topic `images.status`, compacted).

Records are keyed by product id, so the topic keeps the latest record of each product. The API writes `queued`
before it publishes a message (so the record precedes anything the topology writes about that message); the index
bolt writes `searchable` or `deleted` once both stores have the write; the dead-letter writers write
`dead_lettered` with the stage and reason. A crawler that publishes to Kafka directly has no `queued` record.
"""

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from indexer.item import MAX_PRODUCT_ID_LENGTH, CatalogItem
from ingest.dead_letter import DeadLetter

STATUS_SCHEMA_VERSION = 1
ProductState = Literal["queued", "searchable", "deleted", "dead_lettered"]


class StatusPhoto(BaseModel):
    """One photo a message wrote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    image_url: str


class ProductStatus(BaseModel):
    """One record of the status topic: the outcome of the latest message about a product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = STATUS_SCHEMA_VERSION
    product_id: str
    state: ProductState
    at: AwareDatetime
    items: list[StatusPhoto] = Field(default=[], description="searchable: the photo(s) this message wrote")
    model_version: str | None = Field(default=None, description="searchable: the model that embedded them")
    stage: str | None = Field(default=None, description="dead_lettered: where the message failed")
    reason: str | None = Field(default=None, description="dead_lettered: why")
    source: str = Field(default="", description="dead_lettered: topic/partition/offset of the message")

    @classmethod
    def queued(cls, product_id: str) -> "ProductStatus":
        """A message about the product was accepted for publishing now."""
        return cls(product_id=product_id, state="queued", at=datetime.now(UTC))

    @classmethod
    def deleted(cls, product_id: str) -> "ProductStatus":
        """Every photo of the product was deleted from both stores now."""
        return cls(product_id=product_id, state="deleted", at=datetime.now(UTC))

    @classmethod
    def searchable(cls, item: CatalogItem) -> "ProductStatus":
        """The photo of one message is in both stores now."""
        photo = StatusPhoto(id=item.id, image_url=item.image_url)
        return cls(product_id=item.product_id, state="searchable", at=datetime.now(UTC), items=[photo],
                   model_version=item.model_version)  # fmt: skip

    @classmethod
    def dead_lettered(cls, letter: DeadLetter) -> "ProductStatus | None":
        """The status a dead letter gives its product; None when its message names no product."""
        product_id = product_id_of(letter.message)
        if product_id is None:
            return None
        return cls(product_id=product_id, state="dead_lettered", at=letter.failed_at, stage=letter.stage,
                   reason=letter.reason, source=letter.source)  # fmt: skip

    def key(self) -> bytes:
        """The Kafka key: the product id (the topic is compacted by it)."""
        return self.product_id.encode()

    def encode(self) -> bytes:
        """The JSON bytes written to the status topic."""
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, raw: bytes) -> "ProductStatus":
        """The record of encode() (ValidationError if it is not one)."""
        return cls.model_validate_json(raw)


def product_id_of(message: str) -> str | None:
    """The product id of a message as published, if it is a JSON object with a non-empty string product_id."""
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):  # a dead letter holds whatever was published
        return None
    product_id = data.get("product_id") if isinstance(data, dict) else None
    if not isinstance(product_id, str) or not 0 < len(product_id.strip()) <= MAX_PRODUCT_ID_LENGTH:
        return None
    return product_id.strip()


class StatusTable:
    """The latest record of each product, by status-topic position: applying an older record changes nothing.

    Positions are (partition, offset); a product's records all go to one partition, so the later offset wins,
    exactly as compaction decides. Thread-safe enough for one writer and many readers (dict operations).
    """

    def __init__(self) -> None:
        self._latest: dict[str, tuple[int, ProductStatus]] = {}

    def apply(self, offset: int, record: ProductStatus) -> None:
        """Record the status at this offset, unless a later one of its product is already known."""
        known = self._latest.get(record.product_id)
        if known is None or offset >= known[0]:
            self._latest[record.product_id] = (offset, record)

    def get(self, product_id: str) -> ProductStatus | None:
        """The latest status of the product, if any record names it."""
        known = self._latest.get(product_id)
        return known[1] if known is not None else None

    def __len__(self) -> int:
        return len(self._latest)
