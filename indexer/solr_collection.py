"""The catalog's Solr collection: created through the Collections API on SolrCloud, checked on a standalone Solr.

The configset must already be in ZooKeeper (`solr zk upconfig`, which docker-compose's `solr-configset` job runs);
this module only asks Solr to create the collection from it, with the shards and replicas wanted.
"""

import logging
from dataclasses import dataclass
from typing import Any

import requests

from indexer.errors import StoreRequestRejected, StoreUnavailable
from indexer.metadata_store import MetadataStore

logger = logging.getLogger(__name__)

# What Solr answers to the Collections API when it runs without ZooKeeper.
_NOT_CLOUD = "not running in SolrCloud mode"


@dataclass(frozen=True)
class SolrCollectionLayout:
    """How a new collection is laid out: the configset it uses, its shards and the replicas of each shard."""

    configset: str = "catalog"
    shards: int = 1
    replicas: int = 1


def split_core_url(core_url: str) -> tuple[str, str]:
    """(Solr base URL, collection name) of a core or collection URL such as http://solr:8983/solr/catalog."""
    base, _, name = core_url.rstrip("/").rpartition("/")
    if not base or not name:
        raise ValueError(f"{core_url!r} is not a Solr core URL (http://host:port/solr/NAME)")
    return base, name


def create_params(name: str, layout: SolrCollectionLayout) -> dict[str, str]:
    """The Collections API parameters that create collection name with layout, waiting for its replicas."""
    return {
        "action": "CREATE",
        "name": name,
        "collection.configName": layout.configset,
        "numShards": str(layout.shards),
        "replicationFactor": str(layout.replicas),
        "waitForFinalState": "true",
        "wt": "json",
    }


def _collections_api(
    base_url: str, params: dict[str, str], timeout_s: float, auth: tuple[str, str] | None
) -> tuple[int, dict[str, Any]]:
    """One Collections API call: (HTTP status, JSON body); StoreUnavailable if Solr does not answer."""
    url = f"{base_url}/admin/collections"
    try:
        response = requests.get(url, params=params, timeout=timeout_s, auth=auth)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise StoreUnavailable(f"Solr at {base_url} is unreachable: {error}") from error
    if response.status_code in (502, 503, 504):
        raise StoreUnavailable(f"Solr at {base_url} answered {response.status_code} to {params['action']}")
    try:
        return response.status_code, response.json()
    except ValueError as error:
        raise StoreRequestRejected(f"Solr at {base_url} gave a non-JSON answer to {params['action']}") from error


def _error_message(body: dict[str, Any]) -> str:
    """The message of a Solr error body ('' if none)."""
    error = body.get("error") or {}
    return str(error.get("msg", "")) if isinstance(error, dict) else str(error)


def ensure_solr_collection(
    core_url: str, layout: SolrCollectionLayout, timeout_s: float = 60.0, auth: tuple[str, str] | None = None
) -> bool:
    """Create the collection of core_url if SolrCloud lacks it (auth: basic auth's user and password, if Solr has
    authentication); returns whether it was created.

    On a standalone Solr (the local stack) there is no Collections API: the core must exist already, and is
    checked with a ping.
    """
    base_url, name = split_core_url(core_url)
    status, body = _collections_api(base_url, {"action": "LIST", "wt": "json"}, timeout_s, auth)
    if status != 200:
        if _NOT_CLOUD in _error_message(body):
            logger.info("Solr at %s is standalone: checking core %s instead of creating a collection", base_url, name)
            MetadataStore.connect(core_url, timeout_s=timeout_s, auth=auth)
            return False
        raise StoreRequestRejected(f"Solr at {base_url} refused LIST ({status}): {_error_message(body)}")
    if name in body.get("collections", []):
        return False
    logger.info("Creating Solr collection %s (%s)", name, layout)
    status, body = _collections_api(base_url, create_params(name, layout), timeout_s, auth)
    if status != 200 or body.get("failure"):
        detail = _error_message(body) or str(body.get("failure"))
        raise StoreRequestRejected(f"Solr at {base_url} could not create collection {name}: {detail}")
    return True
