"""Every bench script a make target runs starts the way the Makefile runs it (a script run by path cannot import
the `bench` package it belongs to)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `$(BIN)/python bench/x.py ...` or `$(BIN)/python -m bench.x ...`: what comes before the first option
BENCH_RUN = re.compile(r"^\t\$\(BIN\)/python ((?:-m )?bench[./]\w+(?:\.py)?)", re.MULTILINE)


def bench_invocations() -> list[str]:
    return BENCH_RUN.findall((ROOT / "Makefile").read_text())


def test_the_makefile_runs_the_bench_scripts() -> None:
    assert len(bench_invocations()) >= 10


@pytest.mark.parametrize("invocation", bench_invocations())
def test_a_bench_target_starts(invocation: str) -> None:
    result = subprocess.run(
        [sys.executable, *invocation.split(), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
