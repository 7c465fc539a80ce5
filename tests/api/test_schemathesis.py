"""Property-based tests of the whole OpenAPI spec with schemathesis, over real HTTP, real stores behind it.

Every operation gets generated requests, schema-valid (positive) and schema-violating (negative); each response
must not be a 5xx, must have a documented status code and content type, and must match the documented schema.
"""

import logging
import time
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.app import create_app
from settings import Settings
from tests.api.conftest import API_KEY, LiveServer
from tests.api.test_items import message

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 40
STATEFUL_SCENARIOS = 60
SPEC_PATHS = create_app(Settings()).openapi()["paths"]
# Negative data needs something to break: operations without parameters or body get positive cases only.
CASES = [
    (method.upper(), path, mode)
    for path, methods in SPEC_PATHS.items()
    for method, spec in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


def _statuses_read(live_api: LiveServer) -> None:
    """Wait until the API has read the status topic (its reader retries every 2 s until the topic exists)."""
    deadline = time.monotonic() + 30
    url = f"{live_api.url}/v1/products/P-none/status"
    while httpx.get(url, headers={"X-API-Key": API_KEY}).status_code == 503:
        assert time.monotonic() < deadline, "the API never read the status topic"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def api_schema(live_api: LiveServer) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_input_makes_the_api_fail(api_schema: OpenApiSchema, method: str, path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    headers = {"X-API-Key": API_KEY} if (method, path) == ("POST", "/v1/items") else None
    seen_statuses: list[int] = []

    @given(data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
        seen_statuses.append(response.status_code)

    run()
    assert seen_statuses  # requests were made


def test_sequences_that_follow_the_links_never_make_the_api_fail(
    api_schema: OpenApiSchema, api_settings: Settings, live_api: LiveServer
) -> None:
    """Stateful: scenarios of calls chained by the spec's OpenAPI links (a search, then its best hit, its similar
    items and photo; a publish, then the product's status) pass the same checks as single calls, and the links
    lead somewhere: some followed link reaches an item or a status that exists."""
    _statuses_read(live_api)
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")  # its own: the hook is for this test

    @schema.hook
    def map_body(context: HookContext, body: Any) -> Any:
        """Some searches use words of the catalog's titles and some publishes are valid messages, so that there
        are hits and products whose links can be followed (generated ones almost never are)."""
        label = context.operation.label if context.operation is not None else ""
        if not isinstance(body, dict) or len(repr(body)) % 5 == 0:
            return body
        if label == "POST /v1/search":
            return {"q": ("linen", "cotton dress", "Acme", "Globex shirt")[len(repr(body)) % 4]}
        if label == "POST /v1/items":
            return message(f"P-stateful-{len(repr(body))}")
        return body

    followed: list[tuple[str, int]] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": {"X-API-Key": API_KEY}, "timeout": 30}

        def after_call(self, response: Response, case: Case) -> None:
            followed.append((f"{case.method} {case.path}", response.status_code))

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=5,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )  # fmt: skip
    )
    logging.getLogger(__name__).info("stateful calls (operation, status): %s", Counter(followed).most_common())
    reached = {call for call, status in followed if status < 300 and "{" in call}
    assert {"GET /v1/items/{item_id}", "GET /v1/products/{product_id}/status"} <= reached, sorted(set(followed))
