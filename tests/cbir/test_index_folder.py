"""`cbir index-folder` against the real stack of the session, found through its run folder."""

import json
from collections.abc import Iterator
from pathlib import Path

import pysolr
import pytest
from typer.testing import CliRunner

from cbir.cli import app
from devstack.launcher import Stack
from embedder import Embedder
from indexer.vector_store import VectorStore
from tests.synthetic import CATALOG_ROW, write_photo_folder

runner = CliRunner()


@pytest.fixture
def tiny_collection(stack: Stack, tiny_checkpoint: Path) -> Iterator[None]:
    """Both stores empty for the tiny model before the test, its collection dropped after it."""
    pysolr.Solr(stack.settings.solr_core_url()).delete(q="*:*", commit=True)
    embedder = Embedder.load(tiny_checkpoint)
    store = VectorStore.connect(stack.settings.milvus_uri(), embedder.version, embedder.dim)
    store.drop()
    yield
    store.drop()


@pytest.mark.integration
@pytest.mark.usefixtures("tiny_collection")
def test_index_folder_finds_the_stack_from_its_run_folder(tmp_path: Path, stack: Stack, tiny_checkpoint: Path) -> None:
    write_photo_folder(tmp_path / "photos")
    args = ["index-folder", str(tmp_path / "photos"), "--model", str(tiny_checkpoint), "--batch-size", "4"]
    result = runner.invoke(app, [*args, "--threads", "1", "--run-dir", str(stack.settings.run_dir), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "broken.jpg" in result.output
    assert "indexed 6, skipped 1, duplicates 0" in result.output
    assert f"Milvus {stack.settings.milvus_uri()}: 6 items; Solr {stack.settings.solr_core_url()}: 6 items" in (
        result.output
    )


def test_a_bad_metadata_row_stops_before_anything_is_loaded(tmp_path: Path) -> None:
    metadata = tmp_path / "catalog.jsonl"
    metadata.write_text(json.dumps({**CATALOG_ROW, "image": "a.jpg", "currency": "euro"}) + "\n")
    result = runner.invoke(app, ["index-folder", str(tmp_path), "--metadata", str(metadata)])
    assert result.exit_code == 1
    assert "catalog.jsonl:1: not a valid catalog item: currency" in result.output


def test_index_folder_explains_itself() -> None:
    result = runner.invoke(app, ["index-folder", "--help"])
    assert result.exit_code == 0 and "--metadata" in result.output
