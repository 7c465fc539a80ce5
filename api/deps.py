"""Dependencies of the routes, as `Annotated` aliases: the runtime, the settings, the API key check."""

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from api.errors import MissingApiKey, WrongApiKey
from api.runtime import Runtime
from settings import ApiSettings

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="A key from CBIR_API_API_KEYS")


def get_runtime(request: Request) -> Runtime:
    """The runtime the lifespan opened."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> ApiSettings:
    """The API's group of the settings the app was created with."""
    return runtime.settings.api


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def key_matches(given: str, keys: list[str]) -> bool:
    """Whether given is one of keys, compared in constant time (every key is compared, match or not)."""
    given_bytes = given.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given_bytes, key.encode())
    return matched


def check_key(key: str | None, keys: list[SecretStr], what: str) -> None:
    """MissingApiKey (401) without a key, WrongApiKey (403) for a key that is not one of keys."""
    if not key:
        raise MissingApiKey(f"this endpoint needs {what} in the {API_KEY_HEADER} header")
    if not key_matches(key, [secret.get_secret_value() for secret in keys]):
        raise WrongApiKey(f"{what} is not valid")


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> None:
    """A publishing key (CBIR_API_API_KEYS)."""
    check_key(key, settings.api_keys, "an API key")


ApiKeyDep = Annotated[None, Depends(require_api_key)]


def require_annotator_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> None:
    """An annotator key (CBIR_API_ANNOTATOR_KEYS)."""
    check_key(key, settings.annotator_keys, "an annotator key")


AnnotatorKeyDep = Annotated[None, Depends(require_annotator_key)]
