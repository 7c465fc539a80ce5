"""resolve_settings: a command-line option > its CBIR_* variable > the running local stack's ports > the default."""

import json
from pathlib import Path

import pytest

from settings import resolve_settings
from settings.groups import GROUPS


@pytest.fixture(autouse=True)
def no_cbir_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for group, model in GROUPS.items():
        for name in model.model_fields:
            monkeypatch.delenv(f"CBIR_{group.upper()}_{name.upper()}", raising=False)


def record_ports(run_dir: Path) -> Path:
    run_dir.mkdir()
    ports = {"solr_port": 18983, "milvus_port": 29530, "kafka_port": 19092}
    (run_dir / "ports.json").write_text(json.dumps(ports))
    return run_dir


def test_defaults_without_a_running_stack(tmp_path: Path) -> None:
    stores = resolve_settings(run_dir=tmp_path / "nothing-here").stores
    assert stores.milvus_uri == "http://127.0.0.1:19530"
    assert stores.solr_core_url == "http://127.0.0.1:8983/solr/catalog"
    assert stores.kafka_bootstrap_servers == "127.0.0.1:9092"


def test_the_ports_recorded_by_stack_up_are_used(tmp_path: Path) -> None:
    stores = resolve_settings(run_dir=record_ports(tmp_path / "run")).stores
    assert stores.milvus_uri == "http://127.0.0.1:29530"
    assert stores.solr_core_url == "http://127.0.0.1:18983/solr/catalog"
    assert stores.kafka_bootstrap_servers == "127.0.0.1:19092"


def test_a_deployment_ignores_the_local_stack(tmp_path: Path) -> None:
    stores = resolve_settings(run_dir=record_ports(tmp_path / "run"), local_stack=False).stores
    assert stores.milvus_uri == "http://127.0.0.1:19530"


def test_options_over_environment_over_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBIR_STORES_MILVUS_URI", "http://milvus.internal:19530")
    monkeypatch.setenv("CBIR_STORES_SOLR_CORE_URL", "http://solr.env/solr/c")
    options = {"stores": {"solr_core_url": "http://solr.option/solr/c", "milvus_uri": None}}
    stores = resolve_settings(options, run_dir=record_ports(tmp_path / "run")).stores
    assert stores.milvus_uri == "http://milvus.internal:19530"  # the environment: the option was not given
    assert stores.solr_core_url == "http://solr.option/solr/c"  # the option
    assert stores.kafka_bootstrap_servers == "127.0.0.1:19092"  # the stack


def test_an_environment_name_per_field_and_group() -> None:
    names = [f"CBIR_{group.upper()}_{name.upper()}" for group, model in GROUPS.items() for name in model.model_fields]
    assert len(names) == len(set(names))
    assert not any(name in names for name in ("CBIR_INGEST_EMBEDDING_DIM", "CBIR_INDEXER_MODEL_VERSION"))
