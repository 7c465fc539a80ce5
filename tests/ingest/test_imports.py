"""The crawler-side modules stay light: publishing, parsing, fetching and decoding must not pull in torch."""

import subprocess
import sys

import pytest


def imports_torch(modules: str) -> bool:
    """Whether a fresh interpreter that imports these modules has torch loaded."""
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip() == "True"


@pytest.mark.parametrize(
    "modules", ["ingest.publisher, ingest.message, ingest.fetch", "ingest.stages, ingest.status, ingest.dead_letter"]
)
def test_the_ingest_modules_do_not_import_torch(modules: str) -> None:
    assert not imports_torch(modules)
