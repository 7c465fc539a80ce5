"""The filters a search can apply, shared by the vector store (Milvus) and the metadata store (Solr)."""

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indexer.item import FILTER_FIELDS


class SearchFilter(BaseModel):
    """Restrict results to items matching every given condition; a list matches any of its values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: list[str] | None = Field(default=None, min_length=1)
    brand: list[str] | None = Field(default=None, min_length=1)
    colour: list[str] | None = Field(default=None, min_length=1)
    source_site: list[str] | None = Field(default=None, min_length=1)
    price_min: float | None = Field(default=None, ge=0)
    price_max: float | None = Field(default=None, ge=0)
    in_stock: bool | None = None

    @field_validator(*FILTER_FIELDS)
    @classmethod
    def _printable(cls, values: list[str] | None) -> list[str] | None:
        """Refuse control characters (a newline, ...): no catalog value has them, and no store query may see them."""
        for value in values or []:
            if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
                raise ValueError(f"filter value {value!r} holds control characters")
        return values

    @model_validator(mode="after")
    def _price_range_ordered(self) -> "SearchFilter":
        """Reject an empty price range early, with a clear message."""
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError(f"price_min {self.price_min} is above price_max {self.price_max}")
        return self

    def string_conditions(self) -> dict[str, list[str]]:
        """The string fields that are set, by field name."""
        fields = {name: getattr(self, name) for name in FILTER_FIELDS}
        return {name: values for name, values in fields.items() if values is not None}
