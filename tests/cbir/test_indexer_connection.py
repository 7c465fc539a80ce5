"""Where `cbir index-folder` looks for the stores."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbir.indexer_connection import indexer_settings
from indexer.settings import get_indexer_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CBIR_INDEXER_MILVUS_URI", raising=False)
    monkeypatch.delenv("CBIR_INDEXER_SOLR_CORE_URL", raising=False)
    get_indexer_settings.cache_clear()
    yield
    get_indexer_settings.cache_clear()


def record_ports(run_dir: Path) -> Path:
    run_dir.mkdir()
    (run_dir / "ports.json").write_text(json.dumps({"solr_port": 18983, "milvus_port": 29530}))
    return run_dir


def test_defaults_without_a_running_stack(tmp_path: Path) -> None:
    settings = indexer_settings(run_dir=tmp_path / "nothing-here")
    assert settings.milvus_uri == "http://127.0.0.1:19530"
    assert settings.solr_core_url == "http://127.0.0.1:8983/solr/catalog"


def test_the_ports_recorded_by_stack_up_are_used(tmp_path: Path) -> None:
    settings = indexer_settings(run_dir=record_ports(tmp_path / "run"))
    assert settings.milvus_uri == "http://127.0.0.1:29530"
    assert settings.solr_core_url == "http://127.0.0.1:18983/solr/catalog"


def test_environment_and_options_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBIR_INDEXER_MILVUS_URI", "http://milvus.internal:19530")
    settings = indexer_settings(solr_core_url="http://solr.internal/solr/c", run_dir=record_ports(tmp_path / "run"))
    assert settings.milvus_uri == "http://milvus.internal:19530"
    assert settings.solr_core_url == "http://solr.internal/solr/c"
