"""read_config: a checkpoint's model config and version, read without torch, agree with what torch loads."""

import subprocess
import sys
from pathlib import Path

import pytest

from embedder import CheckpointError, Embedder
from embedder.checkpoint_facts import read_config

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", ["catalog.pt", "fashion-mnist.pt"])
def test_the_facts_of_a_shipped_model_are_those_torch_loads(name: str) -> None:
    facts = read_config(MODELS / name)
    embedder = Embedder.load(MODELS / name)
    assert facts.config == embedder.config
    assert (facts.version, facts.dim) == (embedder.version, embedder.dim)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_config(junk)
    with pytest.raises(CheckpointError, match="not found"):
        read_config(tmp_path / "missing.pt")


def test_reading_the_facts_imports_no_torch() -> None:
    code = (
        "import sys; from embedder.checkpoint_facts import read_config; "
        f"read_config({str(MODELS / 'catalog.pt')!r}); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
