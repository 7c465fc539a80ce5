"""Bulk-loading a folder into the real Milvus and Solr of the session stack."""

import json
from collections.abc import Iterator
from pathlib import Path

import pysolr
import pytest

from embedder import Embedder
from indexer.bulk_load import bulk_load
from indexer.catalog_index import CatalogIndex
from indexer.errors import MetadataFileError
from indexer.folder_images import list_class_folder, read_metadata_file
from settings import IndexerSettings, StoreSettings
from tests.synthetic import CATALOG_ROW, COLOURS, coloured_image, jpeg_bytes, write_photo_folder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder(tiny_checkpoint: Path) -> Embedder:
    return Embedder.load(tiny_checkpoint, threads=1)


@pytest.fixture
def index(milvus_uri: str, solr_core_url: str, collection_prefix: str, embedder: Embedder) -> Iterator[CatalogIndex]:
    """The index of the tiny model on the test stack, both stores empty at the start."""
    pysolr.Solr(solr_core_url).delete(q="*:*", commit=True)
    stores = StoreSettings(
        milvus_uri=milvus_uri, solr_core_url=solr_core_url, milvus_collection_prefix=collection_prefix
    )
    catalog_index = CatalogIndex.from_settings(stores, IndexerSettings(), embedder.version, embedder.dim)
    catalog_index.vectors.drop()
    catalog_index.vectors.ensure_collection()
    yield catalog_index
    catalog_index.vectors.drop()


def test_a_class_folder_is_indexed_skipping_a_bad_file_and_a_rerun_changes_nothing(
    tmp_path: Path, embedder: Embedder, index: CatalogIndex
) -> None:
    write_photo_folder(tmp_path)
    images = list_class_folder(tmp_path)
    first = bulk_load(images, embedder, index, batch_size=4, progress=False)
    assert (first.indexed, len(first.skipped), first.duplicates) == (6, 1, 0)
    assert first.skipped[0].path.endswith("broken.jpg")
    assert first.vector_count == first.metadata_count == 6
    second = bulk_load(images, embedder, index, batch_size=4, progress=False)
    assert (second.indexed, second.vector_count, second.metadata_count) == (6, 6, 6)
    categories = index.metadata.facet_counts(fields=["category"])["category"]
    assert categories == {"red": 3, "blue": 3}
    stored = index.metadata.get(sorted(index.metadata.all_ids()))
    assert len(stored) == 6 and all(item.thumbnail for item in stored.values())  # for the search's re-ranker


def test_the_same_photo_twice_is_one_item(tmp_path: Path, embedder: Embedder, index: CatalogIndex) -> None:
    write_photo_folder(tmp_path, per_class=2)
    (tmp_path / "blue" / "copy.jpg").write_bytes((tmp_path / "red" / "0.jpg").read_bytes())
    report = bulk_load(list_class_folder(tmp_path), embedder, index, progress=False)
    assert (report.indexed, report.duplicates, report.vector_count, report.metadata_count) == (4, 1, 4, 4)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_flat_folder_with_a_metadata_file(
    tmp_path: Path, embedder: Embedder, index: CatalogIndex, suffix: str
) -> None:
    rows = []
    for i, colour in enumerate(COLOURS):
        (tmp_path / f"photo{i}.jpg").write_bytes(jpeg_bytes(coloured_image(colour, seed=i)))
        rows.append({**CATALOG_ROW, "image": f"photo{i}.jpg", "product_id": f"P{i}"})
    metadata = tmp_path / f"catalog{suffix}"
    if suffix == ".jsonl":
        metadata.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        header = list(rows[0])
        metadata.write_text(",".join(header) + "\n" + "".join(",".join(str(r[h]) for h in header) + "\n" for r in rows))
    report = bulk_load(read_metadata_file(metadata, tmp_path), embedder, index, progress=False)
    assert (report.indexed, report.vector_count, report.metadata_count) == (3, 3, 3)
    page = index.metadata.search("linen")
    assert page.total == 3
    assert {item.product_id for item in page.items} == {"P0", "P1", "P2"}
    assert {item.brand for item in page.items} == {"AND (x:*)"}


def test_a_bad_metadata_row_is_named_and_nothing_is_loaded(tmp_path: Path) -> None:
    metadata = tmp_path / "catalog.jsonl"
    rows = [{**CATALOG_ROW, "image": "a.jpg"}, {**CATALOG_ROW, "image": "b.jpg", "price": "cheap"}]
    metadata.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(MetadataFileError, match=r"catalog.jsonl:2: not a valid catalog item: price"):
        read_metadata_file(metadata, tmp_path)
