import pytest

from indexer.errors import StoreUnavailable
from indexer.metadata_store import MetadataStore
from indexer.search_filter import SearchFilter

pytestmark = pytest.mark.integration

TRICKY_BRAND = "AND (x:*)"


@pytest.fixture
def filled(metadata_store: MetadataStore, make_item):
    """Six items: three Acme shirts, two dresses by a brand named like query syntax, one red coat."""
    items = [
        make_item(0, title="Blue cotton shirt"),
        make_item(1, title="Striped linen shirt", colour="white"),
        make_item(2, title="Oxford shirt", price=49.5, in_stock=False),
        make_item(3, title="Summer dress", brand=TRICKY_BRAND, category="dress", colour="red"),
        make_item(4, title="Evening dress", brand=TRICKY_BRAND, category="dress", colour="black"),
        make_item(5, title="Wool coat", brand="Nord", category="coat", colour="red", price=120.0),
    ]
    metadata_store.add(items)
    metadata_store.refresh()
    return items


def test_round_trip_reads_back_the_same_items(metadata_store: MetadataStore, filled) -> None:
    stored = metadata_store.get([filled[3].id, filled[5].id, "f" * 64])
    assert stored == {filled[3].id: filled[3], filled[5].id: filled[5]}


def test_get_sees_a_write_before_any_commit(metadata_store: MetadataStore, make_item) -> None:
    item = make_item(42)
    metadata_store.add([item])
    assert metadata_store.get([item.id]) == {item.id: item}


def test_searchable_ids_sees_only_committed_items(metadata_store: MetadataStore, filled, make_item) -> None:
    pending = make_item(43)
    metadata_store.add([pending])  # in the update log, not yet searchable
    asked = [filled[0].id, filled[4].id, pending.id, "f" * 64]
    assert metadata_store.searchable_ids(asked) == {filled[0].id, filled[4].id}
    metadata_store.refresh()
    assert metadata_store.searchable_ids(asked) == {filled[0].id, filled[4].id, pending.id}


def test_re_adding_is_idempotent(metadata_store: MetadataStore, filled) -> None:
    metadata_store.add(filled)
    metadata_store.add([filled[0].model_copy(update={"price": 1.0})])
    metadata_store.refresh()
    assert metadata_store.count() == 6
    assert metadata_store.get([filled[0].id])[filled[0].id].price == 1.0


def test_text_search_is_analysed(metadata_store: MetadataStore, filled) -> None:
    page = metadata_store.search("SHIRTS")  # case and plural do not matter
    assert page.total == 3
    assert {item.id for item in page.items} == {item.id for item in filled[:3]}


def test_filters(metadata_store: MetadataStore, filled) -> None:
    red = metadata_store.search(search_filter=SearchFilter(colour=["red"]))
    assert {item.id for item in red.items} == {filled[3].id, filled[5].id}
    range_and_stock = SearchFilter(price_min=12.0, price_max=60.0, in_stock=True)
    assert {item.id for item in metadata_store.search(search_filter=range_and_stock).items} == {
        filled[3].id,
        filled[4].id,
    }


def test_a_brand_that_looks_like_syntax_is_data(metadata_store: MetadataStore, filled) -> None:
    by_brand = metadata_store.search(search_filter=SearchFilter(brand=[TRICKY_BRAND]))
    assert {item.id for item in by_brand.items} == {filled[3].id, filled[4].id}
    as_text = metadata_store.search(TRICKY_BRAND)  # not a query that matches everything
    assert as_text.total < len(filled)
    assert metadata_store.search(search_filter=SearchFilter(brand=['x") OR brand:("Acme'])).total == 0


def test_facet_counts(metadata_store: MetadataStore, filled) -> None:
    facets = metadata_store.facet_counts()
    assert facets["category"] == {"shirt": 3, "dress": 2, "coat": 1}
    assert facets["brand"] == {"Acme": 3, TRICKY_BRAND: 2, "Nord": 1}
    red = metadata_store.facet_counts(search_filter=SearchFilter(colour=["red"]), fields=["category"])
    assert red == {"category": {"dress": 1, "coat": 1}}


def test_delete(metadata_store: MetadataStore, filled) -> None:
    metadata_store.delete([filled[0].id, "f" * 64])
    metadata_store.refresh()
    assert metadata_store.count() == 5
    assert metadata_store.get([filled[0].id]) == {}


def test_solr_down_is_a_clear_error(dead_port: int) -> None:
    with pytest.raises(StoreUnavailable, match=f"Solr ping at http://127.0.0.1:{dead_port}/solr/catalog failed"):
        MetadataStore.connect(f"http://127.0.0.1:{dead_port}/solr/catalog", timeout_s=2)
