"""Property-based tests of the whole OpenAPI spec with schemathesis, over real HTTP, real stores behind it.

Every operation gets generated requests, schema-valid (positive) and schema-violating (negative); each response
must not be a 5xx, must have a documented status code and content type, and must match the documented schema.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 40
SPEC_PATHS = create_app(Settings()).openapi()["paths"]
# Negative data needs something to break: operations without parameters or body get positive cases only.
CASES = [
    (method.upper(), path, mode)
    for path, methods in SPEC_PATHS.items()
    for method, spec in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


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
