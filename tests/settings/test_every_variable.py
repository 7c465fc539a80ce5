"""Every CBIR_* variable of the settings model reaches what each deployable runs with: the API's app, the
topology's components (through the Storm config) and the `cbir` commands. Each variable is set to a value unlike
its default, and the settings each entry point ends up with must carry it."""

import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from settings import Settings
from settings.groups import GROUPS
from topologies.ingest.storm_conf import TOPOLOGY_GROUPS, settings_from_storm_conf, storm_config


class Captured(Exception):
    """Stops an entry point once it has handed over its settings."""


def distinctive(name: str, annotation: Any, default: Any) -> str:
    """An environment value for a field, of its type and unlike its default."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return str(next(choice for choice in typing.get_args(annotation) if choice != default))
    if origin is list:
        inner = typing.get_args(annotation)[0]
        return json.dumps(["10.9.0.0/16"] if inner is str else [f"key-{name}"])
    if origin is dict:
        return json.dumps({"marker": name})
    if annotation is int:
        return str(default + 7)
    if annotation is float:
        return str(default + 0.5)
    if annotation is Path:
        return f"/tmp/marker/{name}"
    return "marker" + name.replace("_", "")  # letters only: valid for every plain text field


@pytest.fixture
def every_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, BaseSettings]:
    """Sets every CBIR_<GROUP>_<FIELD>; returns each group as read from that environment alone."""
    monkeypatch.setenv("CBIR_STACK_RUN_DIR", str(tmp_path / "no-stack"))
    for group, model in GROUPS.items():
        for name, info in model.model_fields.items():
            monkeypatch.setenv(f"CBIR_{group.upper()}_{name.upper()}", distinctive(name, info.annotation, info.default))
    expected = {group: model() for group, model in GROUPS.items()}
    for group, settings in expected.items():
        unchanged = [n for n, info in GROUPS[group].model_fields.items() if getattr(settings, n) == info.default]
        assert not unchanged, f"{group}: {unchanged} not distinctive"
    return expected


def assert_carries(settings: Settings, expected: dict[str, BaseSettings], groups: set[str]) -> None:
    for group in groups:
        got: BaseModel = getattr(settings, group)
        assert got.model_dump() == expected[group].model_dump(), group


def test_the_api_app_runs_with_every_variable(
    every_variable: dict[str, BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.app import create_app
    from api.runtime import Runtime

    seen: list[Settings] = []

    def capture(settings: Settings, metrics: object) -> None:
        seen.append(settings)
        raise Captured

    monkeypatch.setattr(Runtime, "open", capture)
    with pytest.raises(Captured), TestClient(create_app()):  # `uvicorn --factory api.app:create_app`
        pass
    assert_carries(seen[0], every_variable, set(GROUPS))


def test_cbir_api_serve_runs_with_every_variable(every_variable: dict[str, BaseSettings]) -> None:
    from cbir.api_cli import serving_settings

    assert_carries(serving_settings(None, None, None, None, None), every_variable, set(GROUPS))


def test_the_topology_components_run_with_every_variable(
    every_variable: dict[str, BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import topologies.ingest.runner
    from cbir.cli import app

    seen: list[Settings] = []

    def capture(stack: object, settings: Settings, *args: object) -> None:
        seen.append(settings)
        raise Captured

    monkeypatch.setattr(topologies.ingest.runner, "start_ingest_topology", capture)
    result = CliRunner().invoke(app, ["topology", "run"])
    assert isinstance(result.exception, Captured), result.output
    components = settings_from_storm_conf(storm_config(seen[0]))  # what each spout and bolt reads
    assert_carries(components, every_variable, TOPOLOGY_GROUPS)


def test_the_store_commands_run_with_every_variable(every_variable: dict[str, BaseSettings]) -> None:
    from cbir.catalog_stores import store_settings

    with pytest.raises(Exception, match="checkpoint not found: /tmp/marker/model_path"):
        store_settings(None)  # the model named by CBIR_EMBEDDING_MODEL_PATH is the one read
    import settings.resolve

    assert_carries(settings.resolve.resolve_settings(), every_variable, set(GROUPS))
