"""Items indexed under the old identity (id = the photo's SHA-256) move to their new id, on the real stores."""

from datetime import UTC, datetime

import numpy as np
import pytest

from indexer.catalog_index import CatalogIndex
from indexer.item import CatalogItem
from indexer.metadata_store import MetadataStore, to_solr_document
from indexer.migrate_ids import migrate_item_ids, new_identity
from indexer.vector_store import VectorStore
from tests.indexer.conftest import unit_vectors

pytestmark = pytest.mark.integration

JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def _legacy_document(item: CatalogItem) -> dict[str, object]:
    """The Solr document the old code wrote for an item: id = photo SHA-256, no photo_sha256 field."""
    document = to_solr_document(item.model_copy(update={"id": item.photo_sha256}))
    return {name: value for name, value in document.items() if name != "photo_sha256"}


def _index_as_before(vectors: VectorStore, metadata: MetadataStore, items: list[CatalogItem]) -> np.ndarray:
    """Write items to both stores as the old code did; returns their vectors."""
    array = unit_vectors(len(items), seed=7)
    vectors.upsert([item.model_copy(update={"id": item.photo_sha256}) for item in items], array)
    metadata.solr.add([_legacy_document(item) for item in items], commit=True)
    return array


def test_legacy_items_move_to_their_new_id_once(
    vector_store: VectorStore, metadata_store: MetadataStore, make_item
) -> None:
    index = CatalogIndex(vector_store, metadata_store)
    current = [make_item(0, product_id="P", crawled_at=FEB), make_item(1, product_id="P", crawled_at=FEB)]
    replaced = make_item(2, product_id="P", crawled_at=JAN)  # a photo the product dropped before the migration
    other = make_item(3)
    legacy_vectors = _index_as_before(vector_store, metadata_store, [*current, replaced, other])
    solr_only = make_item(4)  # metadata without a vector: left for the reconciler
    metadata_store.solr.add([_legacy_document(solr_only)], commit=True)
    assert metadata_store.get([current[0].photo_sha256])[current[0].photo_sha256] == new_identity(
        current[0]
    ).model_copy(update={"id": current[0].photo_sha256})  # a legacy document reads as an item whose photo is its id

    report = migrate_item_ids(index, page_size=2, progress=False)

    assert (report.migrated, report.skipped) == (3, 2)  # the replaced photo is deleted, the Solr-only one left
    expected = {current[0].id, current[1].id, other.id}
    assert vector_store.all_ids() == expected and metadata_store.all_ids() == expected | {solr_only.photo_sha256}
    moved = vector_store.get_vectors([current[0].id, other.id])
    np.testing.assert_allclose(moved[current[0].id], legacy_vectors[0], atol=1e-6)
    np.testing.assert_allclose(moved[other.id], legacy_vectors[3], atol=1e-6)
    assert index.get([other.id])[other.id] == other
    again = migrate_item_ids(index, progress=False)
    assert (again.migrated, again.skipped) == (0, 1)
