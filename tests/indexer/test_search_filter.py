import pytest
from pydantic import ValidationError

from indexer.metadata_store import solr_filter_queries, solr_text
from indexer.search_filter import SearchFilter
from indexer.vector_store import collection_name, milvus_expression


def test_milvus_expression_quotes_values_as_data() -> None:
    expression = milvus_expression(SearchFilter(brand=["AND (x:*)", 'say "hi" \\'], price_max=20, in_stock=True))
    assert expression == ('brand in ["AND (x:*)", "say \\"hi\\" \\\\"] and price <= 20.0 and in_stock == true')


def test_solr_filter_queries_quote_values_as_data() -> None:
    queries = solr_filter_queries(SearchFilter(brand=["AND (x:*)", 'a"b'], price_min=5, in_stock=False))
    assert queries == ['brand:("AND (x:*)" OR "a\\"b")', "price:[5.0 TO *]", "in_stock:false"]


def test_no_filter_means_no_condition() -> None:
    assert milvus_expression(None) == ""
    assert solr_filter_queries(SearchFilter()) == []


def test_an_empty_price_range_is_rejected() -> None:
    with pytest.raises(ValidationError, match="price_min"):
        SearchFilter(price_min=10, price_max=5)


def test_collection_names_are_valid_and_distinct_per_model_and_dimension() -> None:
    assert collection_name("catalog", "v1", 128) == "catalog_v1_d128"
    dotted, underscored = collection_name("catalog", "v1.0", 128), collection_name("catalog", "v1_0", 128)
    assert dotted != underscored
    assert dotted.replace("_", "").isalnum()


def test_solr_text_has_no_query_syntax_left() -> None:
    assert solr_text('AND (x:*) OR "red" -shirt') == 'and \\(x\\:\\*\\) or \\"red\\" \\-shirt'
