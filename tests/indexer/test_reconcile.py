import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from indexer.metadata_store import MetadataStore
from indexer.reconcile import Orphans, find_orphans
from indexer.retry import RetryPolicy
from indexer.vector_store import VectorStore
from tests.indexer.conftest import unit_vectors

pytestmark = pytest.mark.integration


@pytest.fixture
def tiny_index(milvus_uri: str, metadata_store: MetadataStore, tiny_checkpoint: Path) -> Iterator[CatalogIndex]:
    """The index of the tiny checkpoint's model version (the collection `cbir reconcile` checks), emptied."""
    embedder = Embedder.load(tiny_checkpoint)
    vectors = VectorStore.connect(milvus_uri, embedder.version, embedder.dim)
    vectors.drop()
    vectors.ensure_collection()
    yield CatalogIndex(vectors, metadata_store, RetryPolicy(attempts=2, initial_delay_s=0.05))
    vectors.drop()


def test_reconcile_finds_and_repairs_orphans_on_both_sides(
    tiny_index: CatalogIndex, make_item, tiny_checkpoint: Path, milvus_uri: str, solr_core_url: str, tmp_path: Path
) -> None:
    version, dim = tiny_index.vectors.model_version, tiny_index.vectors.dim
    items = [make_item(n, model_version=version) for n in range(5)]
    tiny_index.upsert(items[:3], unit_vectors(3, dim))
    tiny_index.vectors.upsert([items[3]], unit_vectors(1, dim))  # a vector without metadata
    tiny_index.metadata.add([items[4]])  # metadata without a vector
    tiny_index.metadata.add([make_item(9)])  # another model version's item is no orphan of this one
    assert find_orphans(tiny_index) == Orphans(frozenset({items[3].id}), frozenset({items[4].id}))

    command = ["reconcile", "--model", str(tiny_checkpoint), "--settle", "0.2"]
    command += ["--milvus-uri", milvus_uri, "--solr-url", solr_core_url]
    runner = CliRunner()
    found = runner.invoke(app, [*command, "--metrics-dir", str(tmp_path)])
    assert found.exit_code == 1, found.output
    assert json.loads(found.output)["solr_only_products"] == ["P4"]
    assert json.loads((tmp_path / "reconcile.json").read_text()) == {"orphans": {"milvus": 1, "solr": 1}}
    repaired = runner.invoke(app, [*command, "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert find_orphans(tiny_index).count == 0
    assert tiny_index.vectors.count() == 3
