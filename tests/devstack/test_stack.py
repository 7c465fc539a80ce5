import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from typer.testing import CliRunner

from cbir.stack_cli import stack_app
from devstack.errors import PortInUse, ServiceStartFailed
from devstack.launcher import Stack
from devstack.process import PidFile, ProcessRecord, port_accepts, port_is_free, session_members, spawn
from devstack.settings import LOOPBACK, StackSettings
from tests.integration_fixtures import free_ports

pytestmark = pytest.mark.integration


def test_every_service_is_healthy_on_loopback(stack: Stack) -> None:
    statuses = stack.status()
    assert [s.name for s in statuses] == ["kafka", "solr", "milvus"]
    assert all(s.running and s.healthy for s in statuses)
    assert all(LOOPBACK in s.address for s in statuses)


def test_status_command_prints_json(stack: Stack) -> None:
    result = CliRunner().invoke(stack_app, ["status", "--json", "--run-dir", str(stack.settings.run_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"kafka", "solr", "milvus"}
    assert report["solr"]["address"] == f"http://127.0.0.1:{stack.settings.solr_port}/solr"  # ports recorded by up
    assert report["solr"]["pid"] == stack.status()[1].pid
    assert all(service["healthy"] for service in report.values())


def test_starting_twice_is_safe(stack: Stack) -> None:
    pids = [s.pid for s in stack.status()]
    assert stack.up() == {"kafka": "already running", "solr": "already running", "milvus": "already running"}
    assert [s.pid for s in stack.status()] == pids


def test_a_port_clash_names_the_port_and_the_setting(stack: Stack, tmp_path: Path) -> None:
    clashing = StackSettings(
        run_dir=tmp_path,
        kafka_port=stack.settings.kafka_port,
        kafka_controller_port=stack.settings.kafka_port + 1,
    )
    with pytest.raises(PortInUse, match=rf"kafka: port 127.0.0.1:{stack.settings.kafka_port} .*CBIR_STACK_KAFKA_PORT"):
        Stack(clashing).up()
    assert not (tmp_path / "pids" / "kafka.json").exists()


def test_kafka_round_trip(kafka_bootstrap: str) -> None:
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(topic, b"hello").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=20_000
    )
    try:
        assert next(iter(consumer)).value == b"hello"
    finally:
        consumer.close()


def _sleeper() -> ProcessRecord:
    """A harmless process standing in for a service."""
    return spawn([sys.executable, "-c", "import time; time.sleep(60)"], Path("/dev/null"), cwd=Path.cwd())


def test_down_stops_exactly_the_recorded_processes(tmp_path: Path) -> None:
    settings = StackSettings(run_dir=tmp_path)
    recorded, unrelated = _sleeper(), _sleeper()
    PidFile(tmp_path, "milvus").write(recorded)
    # A record whose PID now belongs to another program (PID reuse) must not be killed.
    PidFile(tmp_path, "solr").write(ProcessRecord(pid=unrelated.pid, argv=["java", "SolrServerMain"]))
    try:
        outcome = Stack(settings).down()
        assert outcome == {"milvus": "stopped", "solr": "was not running", "kafka": "not started"}
        assert not recorded.is_alive()
        assert unrelated.is_alive()
        assert not list((tmp_path / "pids").iterdir())
    finally:
        subprocess.run(["kill", str(unrelated.pid)], check=False)


def test_port_helpers_see_a_listening_socket() -> None:
    with socket.socket() as server:
        server.bind((LOOPBACK, 0))
        server.listen()
        port = server.getsockname()[1]
        assert not port_is_free(LOOPBACK, port)
        assert port_accepts(LOOPBACK, port)
    time.sleep(0.1)
    assert port_is_free(LOOPBACK, port)


def test_a_service_that_cannot_start_leaves_nothing_running(jvm_deps: StackSettings, tmp_path: Path) -> None:
    """Solr with a core whose configset does not exist: up fails with Solr's reason, stops what it started."""
    milvus_port, solr_port = free_ports(2)
    broken = jvm_deps.model_copy(
        update={
            "run_dir": tmp_path,
            "solr_core": "no_such_configset",
            "solr_port": solr_port,
            "milvus_port": milvus_port,
            "start_timeout_s": 60.0,
        }
    )
    stack = Stack(broken)
    stack.services = [service for service in stack.services if service.name != "kafka"]  # spare a JVM
    with pytest.raises(
        ServiceStartFailed, match="solr cannot start: core no_such_configset failed to load: .*solr.log"
    ):
        stack.up()
    assert not list((tmp_path / "pids").iterdir())
    # The stopped processes release their ports as the kernel finishes tearing them down.
    deadline = time.monotonic() + 10
    while not (port_is_free(LOOPBACK, milvus_port) and port_is_free(LOOPBACK, solr_port)):
        assert time.monotonic() < deadline, "a stopped service still holds its port"
        time.sleep(0.2)


def test_milvus_serves_on_loopback_only_and_leaves_nothing_after_down(
    stack_settings: StackSettings, tmp_path: Path
) -> None:
    """milvus-lite's server: the recorded PID is the server itself, bound to 127.0.0.1; down ends its session."""
    (milvus_port,) = free_ports(1)
    stack = Stack(stack_settings.model_copy(update={"run_dir": tmp_path, "milvus_port": milvus_port}))
    stack.services = [service for service in stack.services if service.name == "milvus"]
    stack.up()
    try:
        record = PidFile(tmp_path, "milvus").read()
        assert record is not None and Path(record.argv[0]).name == "milvus"
        listening = Path("/proc/net/tcp6").read_text() + Path("/proc/net/tcp").read_text()
        local = [line.split()[1] for line in listening.splitlines()[1:] if line.split()[3] == "0A"]  # LISTEN
        ours = [address for address in local if address.endswith(f":{milvus_port:04X}")]
        assert ours and all(a.startswith(("0100007F:", "0000000000000000FFFF00000100007F:")) for a in ours)
    finally:
        stack.down()
    assert not session_members(record.pid)
    deadline = time.monotonic() + 10
    while not port_is_free(LOOPBACK, milvus_port):
        assert time.monotonic() < deadline, "the stopped Milvus still holds its port"
        time.sleep(0.2)
