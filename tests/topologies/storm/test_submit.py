from pathlib import Path

import pytest

from devstack.settings import StackSettings
from topologies.ingest.topology import IngestTopology
from topologies.storm.local_cluster import streamparse_run_path
from topologies.storm.nimbus import parse_nimbus
from topologies.storm.submit import Parallelism, client_config, cluster_flux_definition, submit_argv


def test_one_spout_task_per_partition_up_to_four() -> None:
    assert Parallelism().by_component(2)["kafka_spout"] == 2
    assert Parallelism().by_component(12)["kafka_spout"] == 4
    assert Parallelism(spout=3).by_component(12)["kafka_spout"] == 3
    assert Parallelism(embed=5).by_component(1) == {
        "kafka_spout": 1, "fetch_bolt": 2, "embed_bolt": 5, "index_bolt": 2, "dead_letter_bolt": 1,
    }  # fmt: skip


def test_the_cluster_definition_sets_workers_and_executors() -> None:
    executors = Parallelism().by_component(4)
    definition = cluster_flux_definition(IngestTopology, "ingest", {"a": 1}, 2, executors)
    parallelism = {c["id"]: c["parallelism"] for c in [*definition["spouts"], *definition["bolts"]]}
    assert parallelism == executors
    assert definition["config"]["topology.workers"] == 2
    assert definition["config"]["a"] == 1
    assert {c["constructorArgs"][0][0] for c in definition["bolts"]} == {streamparse_run_path()}


def test_flux_submits_remotely_with_the_topology_jar(tmp_path: Path) -> None:
    settings = StackSettings(deploy_dir=tmp_path)
    (tmp_path / "cache" / "storm" / "lib").mkdir(parents=True)
    (tmp_path / "cache" / "storm" / "lib" / "storm-client.jar").write_bytes(b"")
    argv = submit_argv(settings, Path("/x/ingest.yaml"), Path("/x/client.yaml"))
    jar = tmp_path / "cache" / "topology" / "cbir-ingest-topology.jar"
    assert argv[-3:] == ["org.apache.storm.flux.Flux", "--remote", "/x/ingest.yaml"]
    assert f"-Dstorm.jar={jar}" in argv
    assert "-Dstorm.conf.file=/x/client.yaml" in argv
    assert argv[argv.index("-cp") + 1] == f"{tmp_path}/cache/storm/lib/*:{jar}"


def test_the_client_finds_nimbus_by_host_and_port() -> None:
    assert client_config("nimbus", 6627) == {"nimbus.seeds": ["nimbus"], "nimbus.thrift.port": 6627}
    assert parse_nimbus("nimbus:7000") == ("nimbus", 7000)
    assert parse_nimbus("nimbus") == ("nimbus", 6627)
    with pytest.raises(ValueError):
        parse_nimbus("nimbus:port")
