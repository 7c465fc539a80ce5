"""The Solr collection step of `cbir init-stores`: request building, and the real standalone Solr of the stack."""

import pytest

from indexer.errors import StoreUnavailable
from indexer.solr_collection import SolrCollectionLayout, create_params, ensure_solr_collection, split_core_url


def test_split_core_url_gives_base_and_collection() -> None:
    assert split_core_url("http://solr:8983/solr/catalog/") == ("http://solr:8983/solr", "catalog")


def test_split_core_url_refuses_a_bare_name() -> None:
    with pytest.raises(ValueError, match="not a Solr core URL"):
        split_core_url("catalog")


def test_create_params_carry_the_layout() -> None:
    params = create_params("catalog", SolrCollectionLayout(configset="catalog-v2", shards=3, replicas=2))
    assert params["action"] == "CREATE"
    assert params["collection.configName"] == "catalog-v2"
    assert (params["numShards"], params["replicationFactor"]) == ("3", "2")


@pytest.mark.integration
def test_a_standalone_solr_is_checked_not_created(solr_core_url: str) -> None:
    assert ensure_solr_collection(solr_core_url, SolrCollectionLayout(), timeout_s=10) is False


@pytest.mark.integration
def test_a_solr_that_is_down_is_unavailable(dead_port: int) -> None:
    with pytest.raises(StoreUnavailable):
        ensure_solr_collection(f"http://127.0.0.1:{dead_port}/solr/catalog", SolrCollectionLayout(), timeout_s=2)
