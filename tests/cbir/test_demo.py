"""The demo's streaming path on the real stack: background topology, publish, wait until searchable, matches."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbir.demo import run_demo
from devstack.launcher import Stack
from tests.ingest.kafka_helpers import CLOTHING_SMALL, unique_topic
from topologies.ingest.runner import background_topology, stop_background_topology

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def small_catalog(tmp_path: Path) -> Path:
    """Six photos of each of two classes of clothing-small/test."""
    for category in ("dress", "shorts"):
        (tmp_path / category).mkdir()
        for photo in sorted((Path(CLOTHING_SMALL) / "test" / category).glob("*.jpg"))[:6]:
            shutil.copy(photo, tmp_path / category / photo.name)
    return tmp_path


@pytest.fixture
def stopped_topology_after(stack: Stack) -> Iterator[None]:
    yield
    stop_background_topology(stack.settings)


@pytest.fixture
def own_streams(monkeypatch: pytest.MonkeyPatch, solr_core_url: str, collection_prefix: str) -> None:
    """Topics, consumer group, Solr core and Milvus collections of this test alone (the demo reads them from the
    environment), so that what other tests published or indexed on the shared stack is not the demo's."""
    for name, value in {
        "CBIR_STORES_TOPIC": unique_topic("images"), "CBIR_STORES_DEAD_LETTER_TOPIC": unique_topic("images.dlq"),
        "CBIR_STORES_STATUS_TOPIC": unique_topic("images.status"), "CBIR_INGEST_CONSUMER_GROUP": unique_topic("demo"),
        "CBIR_STORES_SOLR_CORE_URL": solr_core_url, "CBIR_STORES_MILVUS_COLLECTION_PREFIX": collection_prefix,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def test_demo_streams_the_catalog_into_both_stores_and_shows_matches(
    stack: Stack, tiny_checkpoint: Path, small_catalog: Path, own_streams: None, stopped_topology_after: None
) -> None:
    lines: list[str] = []
    run_demo(stack.settings, tiny_checkpoint, small_catalog, small_catalog, count=2, echo=lines.append)

    text = "\n".join(lines)
    assert "all 12 catalog photos searchable" in text, text
    queries = [line for line in lines if line.startswith("\nquery ")]
    assert len(queries) == 2
    assert text.count("score ") == 2 * 5
    assert "(no metadata yet)" not in text
    assert background_topology(stack.settings) is not None, "the topology keeps running for later publishes"

    lines.clear()  # a second run finds everything searchable and publishes nothing
    run_demo(stack.settings, tiny_checkpoint, small_catalog, small_catalog, count=1, echo=lines.append)
    assert "12 of 12 catalog photos already searchable; publishing 0" in "\n".join(lines)

    assert stop_background_topology(stack.settings)
    assert background_topology(stack.settings) is None
