"""`cbir api serve` settings: options, then `CBIR_*`, then the ports the local stack recorded."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.api_cli import serving_settings
from cbir.cli import app


def test_store_addresses_come_from_the_stack_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ports.json").write_text(json.dumps({"milvus_port": 1111, "solr_port": 2222, "kafka_port": 3333}))
    monkeypatch.setenv("CBIR_STORES_SOLR_CORE_URL", "http://solr.internal:8983/solr/catalog")
    settings = serving_settings("0.0.0.0", 9000, Path("m.pt"), None, tmp_path, Path("t.pt"))
    assert (settings.api.host, settings.api.port, settings.embedding.model_path) == ("0.0.0.0", 9000, Path("m.pt"))
    assert settings.embedding.text_encoder_path == Path("t.pt")
    assert settings.stores.milvus_uri == "http://127.0.0.1:1111"
    assert settings.stores.kafka_bootstrap_servers == "127.0.0.1:3333"
    assert settings.stores.solr_core_url == "http://solr.internal:8983/solr/catalog"  # the environment wins


def test_without_a_stack_the_defaults_stay(tmp_path: Path) -> None:
    settings = serving_settings(None, None, None, None, tmp_path)
    assert settings.stores.milvus_uri == "http://127.0.0.1:19530" and settings.api.port == 8000
    assert settings.embedding.text_encoder_path is None  # words alone are Solr's ranking unless asked


def test_serve_is_a_cli_command() -> None:
    result = CliRunner().invoke(app, ["api", "serve", "--help"])
    assert result.exit_code == 0 and "--photo-dir" in result.output and "--text-encoder" in result.output
