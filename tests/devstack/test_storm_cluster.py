from pathlib import Path

import pytest
import yaml

from devstack.errors import StackError
from devstack.launcher import Stack, stack_services
from devstack.process import PidFile, spawn, stop
from devstack.settings import ClusterPorts, StackSettings
from devstack.storm_cluster import NimbusService, SupervisorService, prepare_storm_home, storm_config


def _settings(tmp_path: Path, **changes: object) -> StackSettings:
    return StackSettings(run_dir=tmp_path, cluster=True, cluster_base_port=30000, **changes)  # type: ignore[arg-type]


def test_cluster_ports_are_consecutive_and_distinct() -> None:
    ports = ClusterPorts(30000, slots_per_supervisor=2)
    assert ports.all() == list(range(30000, 30014))
    assert (ports.zookeeper, ports.nimbus, ports.supervisors) == (30000, 30001, [30002, 30003])
    assert ports.kafka_brokers == [30004, 30005, 30006]
    assert ports.slots == [[30010, 30011], [30012, 30013]]


def test_the_cluster_stack_runs_each_daemon_as_its_own_service(tmp_path: Path) -> None:
    names = [service.name for service in stack_services(_settings(tmp_path))]
    assert names == [
        "zookeeper", "kafka-1", "kafka-2", "kafka-3", "nimbus", "supervisor-1", "supervisor-2", "solr", "milvus",
    ]  # fmt: skip
    assert [s.name for s in stack_services(StackSettings(run_dir=tmp_path))] == ["kafka", "solr", "milvus"]


def test_each_supervisor_has_its_own_slots_thrift_port_and_local_dir(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = storm_config(settings, tmp_path / "a", supervisor=0)
    second = storm_config(settings, tmp_path / "b", supervisor=1)
    assert first["supervisor.slots.ports"] == [30010, 30011]
    assert second["supervisor.slots.ports"] == [30012, 30013]
    assert (first["supervisor.thrift.port"], second["supervisor.thrift.port"]) == (30002, 30003)
    assert first["storm.local.dir"] != second["storm.local.dir"]
    for config in (first, second):
        assert config["storm.zookeeper.servers"] == config["nimbus.seeds"] == ["127.0.0.1"]
        assert config["storm.local.hostname"] == "127.0.0.1"
        assert (config["storm.zookeeper.port"], config["nimbus.thrift.port"]) == (30000, 30001)


def test_nimbus_has_no_slots(tmp_path: Path) -> None:
    config = storm_config(_settings(tmp_path), tmp_path / "nimbus")
    assert "supervisor.slots.ports" not in config


@pytest.mark.usefixtures("jvm_deps")  # argv's classpath needs the jars, whatever test ran before
def test_a_daemon_reads_its_own_storm_yaml(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    supervisor = SupervisorService(settings, index=1)
    supervisor.conf_file.parent.mkdir(parents=True)
    supervisor.conf_file.write_text(yaml.safe_dump(supervisor.config()))
    argv = supervisor.argv()
    assert f"-Dstorm.conf.file={supervisor.conf_file}" in argv
    assert argv[-1] == "org.apache.storm.daemon.supervisor.Supervisor"
    assert yaml.safe_load(supervisor.conf_file.read_text())["supervisor.thrift.port"] == 30003
    assert NimbusService(settings).ports() == {"cluster_base_port:nimbus": 30001}


def test_the_storm_home_gives_workers_storm_client_but_not_the_daemons_jars(tmp_path: Path) -> None:
    cache = tmp_path / "deploy" / "cache" / "storm" / "lib"
    cache.mkdir(parents=True)
    for jar in ("storm-client-2.8.3.jar", "storm-server-2.8.3.jar", "flux-core-2.8.3.jar", "kryo-5.6.2.jar"):
        (cache / jar).write_bytes(b"")
    home = prepare_storm_home(_settings(tmp_path / "run", deploy_dir=tmp_path / "deploy"))
    assert sorted(p.name for p in (home / "lib-worker").iterdir()) == ["kryo-5.6.2.jar", "storm-client-2.8.3.jar"]
    assert (home / "lib-worker" / "kryo-5.6.2.jar").resolve() == cache / "kryo-5.6.2.jar"
    assert "workers.artifacts" in (home / "log4j2" / "worker.xml").read_text()
    assert (home / "extlib").is_dir() and (home / "conf").is_dir()
    prepare_storm_home(_settings(tmp_path / "run", deploy_dir=tmp_path / "deploy"))  # idempotent


def test_cluster_kafka_bootstrap_lists_every_broker(tmp_path: Path) -> None:
    assert _settings(tmp_path).kafka_bootstrap() == "127.0.0.1:30004,127.0.0.1:30005,127.0.0.1:30006"
    assert StackSettings(kafka_port=9999).kafka_bootstrap() == "127.0.0.1:9999"


def test_a_run_folder_holds_one_kind_of_stack(tmp_path: Path) -> None:
    StackSettings(run_dir=tmp_path).save_ports()
    record = spawn(["sleep", "30"], tmp_path / "sleep.log", cwd=tmp_path)
    PidFile(tmp_path, "kafka").write(record)
    try:
        with pytest.raises(StackError, match="runs a local stack"):
            Stack(_settings(tmp_path)).up()
    finally:
        stop(record, timeout_s=5)
