"""Where `cbir topology submit` takes its settings from: the cluster stack's run folder, or the environment."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from devstack.settings import StackSettings
from settings import Settings, resolve_settings
from topologies.ingest.runner import for_workers

runner = CliRunner()


def test_a_deployment_takes_addresses_from_the_environment(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("CBIR_STORES_MILVUS_URI", "http://milvus:19530")
    monkeypatch.setenv("CBIR_STORES_SOLR_CORE_URL", "http://solr:8983/solr/catalog")
    StackSettings(run_dir=tmp_path, cluster=True, cluster_base_port=30000).save_ports()  # a stack, ignored
    stores = resolve_settings(run_dir=tmp_path, local_stack=False).stores
    assert stores.kafka_bootstrap_servers == "kafka:9092"
    assert (stores.milvus_uri, stores.solr_core_url) == ("http://milvus:19530", "http://solr:8983/solr/catalog")


def test_the_workers_get_absolute_paths() -> None:
    settings = for_workers(Settings().changed(embedding={"model_path": Path("models/catalog.pt")}))
    assert settings.embedding.model_path.is_absolute()


def test_the_cluster_stack_is_reached_through_its_three_brokers(tmp_path: Path) -> None:
    StackSettings(run_dir=tmp_path, cluster=True, cluster_base_port=30000, solr_port=30100).save_ports()
    stores = resolve_settings(run_dir=tmp_path).stores
    assert stores.kafka_bootstrap_servers == "127.0.0.1:30004,127.0.0.1:30005,127.0.0.1:30006"
    assert stores.solr_core_url == "http://127.0.0.1:30100/solr/catalog"


def test_submit_without_nimbus_needs_a_cluster_stack(tmp_path: Path) -> None:
    StackSettings(run_dir=tmp_path).save_ports()  # a local stack, not a cluster
    result = runner.invoke(app, ["topology", "submit", "--run-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--cluster" in result.output


@pytest.mark.parametrize("command", ["submit", "kill", "list"])
def test_cluster_commands_explain_themselves(command: str) -> None:
    result = runner.invoke(app, ["topology", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Nimbus" in result.output or "nimbus" in result.output
