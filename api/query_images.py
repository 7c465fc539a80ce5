"""The query of POST /v1/search, read from a multipart upload or from JSON (`image_b64` or `image_url`)."""

import base64
import binascii
import json
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from api.errors import InvalidField, MalformedBody, NotAnImage, PayloadTooLarge, UnsupportedMediaType
from api.runtime import Runtime
from api.schemas import SearchOptions, SearchRequest
from api.timings import Timings
from indexer.item import FILTER_FIELDS
from indexer.validation import validation_problems

MAX_FORM_FIELDS = 64


async def read_search_query(request: Request, runtime: Runtime, timings: Timings) -> tuple[bytes, SearchOptions]:
    """The query image's bytes and the search options; UnsupportedMediaType for other bodies."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _from_multipart(request, runtime.settings.fetch.max_image_bytes)
    if media_type == "application/json":
        return await _from_json(request, runtime, timings)
    raise UnsupportedMediaType(f"send multipart/form-data (field `image`) or application/json, not {media_type!r}")


async def _from_multipart(request: Request, max_bytes: int) -> tuple[bytes, SearchOptions]:
    """`image` file part plus the options as form fields (list filters as repeated fields)."""
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise InvalidField("image: a file part named `image` is required")
    if upload.size is not None and upload.size > max_bytes:
        raise PayloadTooLarge(f"the image is {upload.size} bytes, more than the limit of {max_bytes}")
    image = await upload.read(max_bytes + 1)
    if len(image) > max_bytes:
        raise PayloadTooLarge(f"the image is more than the limit of {max_bytes} bytes")
    fields: dict[str, Any] = {}
    for name in {key for key in form if key != "image"}:
        values = [value for value in form.getlist(name) if isinstance(value, str)]
        if len(values) != len(form.getlist(name)):
            raise InvalidField(f"{name}: expected a text field, got a file")
        fields[name] = values if name in FILTER_FIELDS else values[-1]
    try:
        return image, SearchOptions.model_validate(fields)
    except ValidationError as error:
        raise InvalidField(validation_problems(error.errors())) from error


async def _from_json(request: Request, runtime: Runtime, timings: Timings) -> tuple[bytes, SearchOptions]:
    """A SearchRequest with exactly one of image_b64 and image_url."""
    try:
        query = SearchRequest.model_validate_json(await request.body())
    except ValidationError as error:
        if any(problem["type"] == "json_invalid" for problem in error.errors()):
            raise MalformedBody(f"the body is not valid JSON: {validation_problems(error.errors())}") from error
        raise InvalidField(validation_problems(error.errors())) from error
    if (query.image_b64 is None) == (query.image_url is None):
        raise InvalidField("give exactly one of image_b64 and image_url")
    options = SearchOptions.model_validate(query.model_dump(exclude={"image_b64", "image_url"}))
    if query.image_url is not None:
        return await runtime.queries.fetch(query.image_url, timings), options
    return decode_base64_image(query.image_b64 or "", runtime.settings.fetch.max_image_bytes), options


def decode_base64_image(text: str, max_bytes: int) -> bytes:
    """The bytes of a standard-base64 image; NotAnImage if not base64, PayloadTooLarge if over the limit."""
    if len(text) > (max_bytes + 2) // 3 * 4 + 4:
        raise PayloadTooLarge(f"image_b64 holds more than the limit of {max_bytes} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NotAnImage(f"image_b64 is not valid base64: {error}") from error


def openapi_request_body() -> dict[str, Any]:
    """The requestBody of POST /v1/search in the OpenAPI document: multipart upload or JSON."""
    options = SearchOptions.model_json_schema()
    multipart = {
        "type": "object",
        "required": ["image"],
        "properties": {"image": {"type": "string", "format": "binary"}, **options["properties"]},
    }
    encoding = {name: {"style": "form", "explode": True} for name in FILTER_FIELDS}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": multipart, "encoding": encoding},
            "application/json": {"schema": json.loads(json.dumps(SearchRequest.model_json_schema()))},
        },
    }
