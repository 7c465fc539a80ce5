import numpy as np
import pytest

from indexer.errors import DimensionMismatch, StoreUnavailable
from indexer.search_filter import SearchFilter
from indexer.vector_store import VectorStore
from tests.indexer.conftest import DIM, unit_vectors

pytestmark = pytest.mark.integration


@pytest.fixture
def filled(vector_store: VectorStore, make_item):
    """Ten items: even ones are blue Acme shirts in stock, odd ones red 'AND (x:*)' dresses out of stock."""
    items = [
        make_item(n) if n % 2 == 0 else make_item(n, brand="AND (x:*)", category="dress", colour="red", in_stock=False)
        for n in range(10)
    ]
    vectors = unit_vectors(len(items))
    vector_store.upsert(items, vectors)
    return items, vectors


def test_round_trip(vector_store: VectorStore, filled) -> None:
    items, vectors = filled
    stored = vector_store.get_vectors([items[3].id, "f" * 64])
    assert list(stored) == [items[3].id]
    np.testing.assert_allclose(stored[items[3].id], vectors[3], rtol=1e-6)
    assert vector_store.search(vectors[3], k=1)[0].id == items[3].id
    assert vector_store.count() == 10


def test_re_upsert_is_idempotent_and_overwrites(vector_store: VectorStore, filled) -> None:
    items, vectors = filled
    vector_store.upsert(items, vectors)
    moved = unit_vectors(1, seed=99)
    vector_store.upsert(items[:1], moved)
    assert vector_store.count() == 10
    np.testing.assert_allclose(vector_store.get_vectors([items[0].id])[items[0].id], moved[0], rtol=1e-6)


def test_filters_apply_to_the_scalar_fields(vector_store: VectorStore, filled) -> None:
    items, vectors = filled
    query = vectors[1]  # an odd item: nearest to itself, but filtered out below
    blue = vector_store.search(query, k=10, search_filter=SearchFilter(colour=["blue"], in_stock=True))
    assert {hit.id for hit in blue} == {item.id for item in items[::2]}
    cheap = vector_store.search(query, k=10, search_filter=SearchFilter(price_max=12.0))
    assert {hit.id for hit in cheap} == {items[0].id, items[1].id, items[2].id}


def test_a_brand_that_looks_like_syntax_is_data(vector_store: VectorStore, filled) -> None:
    items, vectors = filled
    hits = vector_store.search(vectors[0], k=10, search_filter=SearchFilter(brand=["AND (x:*)"]))
    assert {hit.id for hit in hits} == {item.id for item in items[1::2]}
    injected = SearchFilter(brand=['x" or brand != "'])
    assert vector_store.search(vectors[0], k=10, search_filter=injected) == []


def test_batched_search_matches_single_searches(vector_store: VectorStore, filled) -> None:
    _, vectors = filled
    batched = vector_store.search_batch(vectors[:4], k=3)
    assert [[hit.id for hit in hits] for hits in batched] == [
        [hit.id for hit in vector_store.search(vector, k=3)] for vector in vectors[:4]
    ]


def test_results_are_the_same_after_a_flush(vector_store: VectorStore, filled) -> None:
    _, vectors = filled
    before = vector_store.search(vectors[2], k=5)
    vector_store.flush()
    assert [hit.id for hit in vector_store.search(vectors[2], k=5)] == [hit.id for hit in before]


def test_delete(vector_store: VectorStore, filled) -> None:
    items, _ = filled
    vector_store.delete([items[0].id, items[1].id, "f" * 64])
    assert vector_store.count() == 8
    assert vector_store.get_vectors([items[0].id]) == {}


def test_wrong_dimension_is_a_clear_error(vector_store: VectorStore, make_item) -> None:
    with pytest.raises(DimensionMismatch, match=rf"\(N, {DIM}\).*\(1, {DIM + 1}\)"):
        vector_store.upsert([make_item(0)], unit_vectors(1, dim=DIM + 1))
    with pytest.raises(DimensionMismatch):
        vector_store.search(np.ones(DIM - 1, dtype=np.float32))


def test_a_product_delete_stays_within_its_collection_prefix(
    milvus_uri: str, vector_store: VectorStore, filled, make_item
) -> None:
    """Deployments (or test modules) sharing one Milvus keep apart by prefix: a delete under one leaves the other's
    items of the same product, even of the same model version; the prefix 'tindexer' names no collection of
    'tindexerother'."""
    other = VectorStore.connect(
        milvus_uri, vector_store.model_version, DIM, collection_prefix=vector_store.collection_prefix + "other"
    )
    try:
        other.upsert([make_item(0), make_item(1)], unit_vectors(2))
        vector_store.delete_products(["P0", "P1"])
        assert other.collection not in vector_store.model_collections()
        assert vector_store.count() == 8 and other.count() == 2
        other.delete_products(["P0"])
        assert other.count() == 1 and vector_store.count() == 8
    finally:
        other.drop()


def test_model_versions_never_share_a_collection(milvus_uri: str, vector_store: VectorStore, filled) -> None:
    other = VectorStore.connect(
        milvus_uri, vector_store.model_version + "-next", DIM, collection_prefix=vector_store.collection_prefix
    )
    try:
        assert other.collection != vector_store.collection
        assert other.count() == 0
    finally:
        other.drop()


def test_milvus_down_is_a_clear_error(dead_port: int) -> None:
    with pytest.raises(StoreUnavailable, match=f"Milvus at http://127.0.0.1:{dead_port} is unreachable"):
        VectorStore.connect(f"http://127.0.0.1:{dead_port}", "v1", DIM, timeout_s=2)
