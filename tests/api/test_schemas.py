"""The HTTP models restate the catalog's fields (with HTTP limits, and only what shoppers see); they must name the
same fields as the catalog core, so that a field added there cannot be forgotten here."""

from api.schemas import Filters, Item
from indexer.item import FILTER_FIELDS, CatalogItem, ProductFields
from indexer.search_filter import SearchFilter

NOT_SHOWN = {"crawled_at"}  # when the crawler saw the product: the index's business, not the shopper's


def test_the_api_filters_are_the_search_filter_fields() -> None:
    assert list(Filters.model_fields) == list(SearchFilter.model_fields)
    assert set(FILTER_FIELDS) <= set(Filters.model_fields)


def test_an_item_shows_every_product_field_but_the_crawl_time() -> None:
    assert set(Item.model_fields) == {"id"} | set(ProductFields.model_fields) - NOT_SHOWN
    assert set(Item.model_fields) <= set(CatalogItem.model_fields)
