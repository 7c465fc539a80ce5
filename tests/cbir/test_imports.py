"""`cbir publish` runs on a crawler host without torch: the command and what it imports when it runs."""

import subprocess
import sys

from tests.ingest.test_imports import imports_torch


def test_the_cli_and_the_photo_walker_do_not_import_torch() -> None:
    assert not imports_torch("cbir.cli, cbir.ingest_cli, embedder.data, embedder.data.image_folder")
    assert not imports_torch("ingest.folder_catalog, ingest.publisher, settings")


def test_publish_does_not_import_torch() -> None:
    # publish imports its collaborators when it runs; a missing folder stops it right after they are imported
    code = (
        "import sys, typer; from pathlib import Path; from cbir.ingest_cli import publish\n"
        "try:\n    publish(Path('/no/such/folder'))\nexcept typer.BadParameter:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
