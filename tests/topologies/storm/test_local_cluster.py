import time
from pathlib import Path

import pytest

from devstack.process import stop
from devstack.settings import StackSettings
from tests.topologies.smoke.record_bolt import record_line
from tests.topologies.smoke.topology import SmokeTopology
from tests.topologies.smoke.word_spout import WORDS
from topologies.storm.local_cluster import flux_definition, run_local_topology, streamparse_run_path
from topologies.storm.multilang import SERIALIZER_CONF_KEY, serializer_config

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("serializer", [None, "json", "msgpack"])
def test_flux_definition_runs_python_components_with_this_venv_and_the_configured_serializer(
    serializer: str | None,
) -> None:
    config = {"smoke.output_path": "/tmp/x", **(serializer_config(serializer) if serializer else {})}
    definition = flux_definition(SmokeTopology, "smoke", config)
    commands = [c["constructorArgs"][0] for c in [*definition["spouts"], *definition["bolts"]]]
    python_side = ["--serializer", serializer or "json"]  # Storm's default is JSON
    assert commands == [
        [streamparse_run_path(), "tests.topologies.smoke.word_spout.WordSpout", *python_side],
        [streamparse_run_path(), "tests.topologies.smoke.record_bolt.RecordBolt", *python_side],
    ]
    assert definition["streams"] == [
        {"from": "word_spout", "to": "record_bolt", "grouping": {"streamId": "default", "type": "SHUFFLE"}}
    ]
    assert definition["config"]["smoke.output_path"] == "/tmp/x"


def test_a_serializer_without_a_python_half_is_refused() -> None:
    with pytest.raises(ValueError, match="no Python half"):
        flux_definition(SmokeTopology, "smoke", {SERIALIZER_CONF_KEY: "com.example.ThriftSerializer"})


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_tuples_flow_through_a_real_local_cluster(
    jvm_deps: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serializer: str
) -> None:
    """WordSpout -> RecordBolt in Storm's LocalCluster: every word arrives, processed by the Python bolt, and the
    bolt got its task id from the handshake (msgpack: our serializer in the topology jar, both ways)."""
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # the smoke components live in tests/, not in the package
    output = tmp_path / "recorded.tsv"
    config = {"smoke.output_path": str(output), **serializer_config(serializer)}
    record, log = run_local_topology(jvm_deps, SmokeTopology, f"smoke-{serializer}", config, duration_s=120)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_lines(output)) < len(WORDS):
            assert record.is_alive(), f"LocalCluster exited; see {log}"
            time.sleep(0.5)
        words = sorted(line.split("\t")[0] for line in _lines(output))
        assert words == sorted(record_line(w, 0).split("\t")[0] for w in WORDS), f"see {log}"
        assert all(int(line.split("\t")[1]) > 0 for line in _lines(output)), "the handshake gave no task id"
    finally:
        stop(record, timeout_s=30)
    assert not record.is_alive()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
