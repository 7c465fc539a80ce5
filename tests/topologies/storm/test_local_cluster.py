import time
from pathlib import Path

import pytest

from devstack.process import stop
from devstack.settings import StackSettings
from tests.topologies.smoke.record_bolt import record_line
from tests.topologies.smoke.topology import SmokeTopology
from tests.topologies.smoke.word_spout import WORDS
from topologies.storm.local_cluster import flux_definition, run_local_topology, streamparse_run_path

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_flux_definition_runs_python_components_with_this_venv() -> None:
    definition = flux_definition(SmokeTopology, "smoke", {"smoke.output_path": "/tmp/x"})
    commands = [c["constructorArgs"][0] for c in [*definition["spouts"], *definition["bolts"]]]
    assert commands == [
        [streamparse_run_path(), "tests.topologies.smoke.word_spout.WordSpout"],
        [streamparse_run_path(), "tests.topologies.smoke.record_bolt.RecordBolt"],
    ]
    assert definition["streams"] == [
        {"from": "word_spout", "to": "record_bolt", "grouping": {"streamId": "default", "type": "SHUFFLE"}}
    ]
    assert definition["config"]["smoke.output_path"] == "/tmp/x"


@pytest.mark.integration
@pytest.mark.slow
def test_tuples_flow_through_a_real_local_cluster(
    jvm_deps: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WordSpout -> RecordBolt in Storm's LocalCluster: every word arrives, processed by the Python bolt."""
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # the smoke components live in tests/, not in the package
    output = tmp_path / "recorded.tsv"
    record, log = run_local_topology(
        jvm_deps, SmokeTopology, "smoke", {"smoke.output_path": str(output)}, duration_s=120
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_lines(output)) < len(WORDS):
            assert record.is_alive(), f"LocalCluster exited; see {log}"
            time.sleep(0.5)
        words = sorted(line.split("\t")[0] for line in _lines(output))
        assert words == sorted(record_line(w, 0).split("\t")[0] for w in WORDS), f"see {log}"
    finally:
        stop(record, timeout_s=30)
    assert not record.is_alive()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
