import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from embedder import Embedder
from indexer.catalog_index import CatalogIndex
from indexer.metadata_store import MetadataStore
from indexer.reconcile import Orphans, ReconcileSchedule, find_orphans
from indexer.retry import RetryPolicy
from indexer.vector_store import VectorStore
from tests.indexer.conftest import unit_vectors


@pytest.fixture
def tiny_index(
    milvus_uri: str,
    metadata_store: MetadataStore,
    tiny_checkpoint: Path,
    collection_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[CatalogIndex]:
    """The index of the tiny checkpoint's model version (the collection `cbir reconcile` checks, the module's
    prefix given to it by the environment), emptied."""
    monkeypatch.setenv("CBIR_STORES_MILVUS_COLLECTION_PREFIX", collection_prefix)
    embedder = Embedder.load(tiny_checkpoint)
    vectors = VectorStore.connect(milvus_uri, embedder.version, embedder.dim, collection_prefix=collection_prefix)
    vectors.drop()
    vectors.ensure_collection()
    yield CatalogIndex(vectors, metadata_store, RetryPolicy(attempts=2, initial_delay_s=0.05))
    vectors.drop()


@pytest.mark.integration
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


def _orphans(milvus: set[str], solr: set[str] | None = None) -> Orphans:
    return Orphans(frozenset(milvus), frozenset(solr or set()))


def test_the_schedule_looks_every_interval_and_counts_only_orphans_seen_twice() -> None:
    looks = iter([_orphans(set()), _orphans({"a", "b"}, {"c"}), _orphans({"b", "d"}), _orphans({"d"})])
    schedule = ReconcileSchedule(interval_s=60, settle_s=10, now=0)
    assert not schedule.due(59) and schedule.run(59, lambda: next(looks)) is None  # not due: no look
    assert schedule.run(60, lambda: next(looks)) == _orphans(set())  # none found: that is the result
    assert schedule.run(100, lambda: next(looks)) is None
    assert schedule.run(120, lambda: next(looks)) is None  # some found: wait for a second look
    assert not schedule.due(129)
    assert schedule.run(130, lambda: next(looks)) == _orphans({"b"})  # a, c written meanwhile; d is new
    assert not schedule.due(189) and schedule.due(190)


def test_a_failed_look_is_abandoned_until_the_next_interval() -> None:
    schedule = ReconcileSchedule(interval_s=60, settle_s=10, now=0)
    assert schedule.run(60, lambda: _orphans({"a"})) is None

    def failing() -> Orphans:
        raise RuntimeError("Solr down")

    with pytest.raises(RuntimeError):
        schedule.run(70, failing)
    assert not schedule.due(129)
    assert schedule.run(130, lambda: _orphans({"a"})) is None  # a first look again, not a confirmation
