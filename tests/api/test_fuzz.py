"""Fuzzing what the public edge parses (hypothesis): the ingest message parser, the filter builders, image URLs and
the multipart search reader. Only the domain's own errors may come out; no 5xx."""

import contextlib
import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from indexer.metadata_store import solr_filter_queries
from indexer.search_filter import SearchFilter
from indexer.vector_store import milvus_expression
from ingest.errors import RecordRejected
from ingest.fetch import FetchPolicy, check_url
from ingest.message import parse_message
from tests.ingest.test_message import upsert_fields

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
FIELDS = list(upsert_fields())


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_the_message_parser_rejects_garbage_as_records(raw: bytes | str) -> None:
    try:
        parse_message(raw)
    except RecordRejected as error:
        assert error.stage == "parse"


@settings(max_examples=200, deadline=None)
@given(changes=st.dictionaries(st.sampled_from([*FIELDS, "extra"]), JSON_VALUES, max_size=4))
def test_the_message_parser_rejects_wrong_fields_as_records(changes: dict) -> None:
    try:
        parse_message(json.dumps({**upsert_fields(), **changes}))
    except RecordRejected as error:
        assert error.stage == "parse"


FILTER_TEXT = st.text(min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(FILTER_TEXT, min_size=1, max_size=3),
    price=st.tuples(st.none() | st.floats(0, 1e9), st.none() | st.floats(0, 1e9)),
    in_stock=st.none() | st.booleans(),
)
def test_filter_builders_quote_any_value_or_refuse_it(
    values: list[str], price: tuple[float | None, float | None], in_stock: bool | None
) -> None:
    try:
        search_filter = SearchFilter(
            category=values, brand=values, price_min=price[0], price_max=price[1], in_stock=in_stock
        )
    except ValidationError:
        return
    expression = milvus_expression(search_filter)
    assert "\n" not in expression and "\r" not in expression
    assert len(solr_filter_queries(search_filter)) >= 2


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=60) | st.builds(lambda rest: "http://" + rest, st.text(max_size=40)))
def test_image_urls_are_parsed_into_a_target_or_a_rejected_record(url: str) -> None:
    """Never a ValueError or another exception (the resolver answers nothing, so nothing is fetched)."""

    def no_dns(host: str, port: int) -> list[str]:
        raise OSError("no DNS in this test")

    with contextlib.suppress(RecordRejected):
        check_url(url, FetchPolicy(resolver=no_dns))


@pytest.mark.integration
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["k", "q", "category", "price_min", "cursor", "one_per_product", "image", "x"]),
        st.text(max_size=20),
        max_size=4,
    ),
    image=st.binary(max_size=64),
)
def test_the_multipart_reader_answers_every_form_without_a_5xx(client: TestClient, fields: dict, image: bytes) -> None:
    files = {"image": ("q.jpg", image, "image/jpeg")} if "image" not in fields else None
    response = client.post("/v1/search", data=fields, files=files)
    assert response.status_code < 500, response.text
    assert response.json()["error"]["code"] if response.status_code >= 400 else True
