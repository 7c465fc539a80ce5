"""`cbir init-stores`: create what the platform writes to (Kafka topics, Solr collection, Milvus collection).

Run once before the topology and the API start (docker-compose's `init` job does); every step is idempotent.
Settings are resolved like every command's (`settings.resolve_settings`): `CBIR_STORES_*` in a deployment.
"""

import json
from pathlib import Path
from typing import Annotated

import typer

from cbir.options import Model


def init_stores(
    model: Model = None,
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of the images topic, if it is created.")] = 1,
    kafka_replication: Annotated[int, typer.Option(min=1, help="Replication factor of new topics.")] = 1,
    solr_configset: Annotated[str, typer.Option(help="Configset in ZooKeeper for a new Solr collection.")] = "catalog",
    solr_shards: Annotated[int, typer.Option(min=1, help="Shards of a new Solr collection.")] = 1,
    solr_replicas: Annotated[int, typer.Option(min=1, help="Replicas per shard of a new Solr collection.")] = 1,
) -> None:
    """Create the Kafka topics, the Solr collection and the model's Milvus collection if they are missing."""
    from cbir.catalog_stores import open_catalog_index, store_settings
    from indexer.errors import IndexerError
    from indexer.retry import call_with_retry, retry_policy
    from indexer.solr_collection import SolrCollectionLayout, ensure_solr_collection
    from ingest.errors import IngestError
    from ingest.topics import ensure_ingest_topics

    settings, model_facts = store_settings(model)
    stores = settings.stores
    layout = SolrCollectionLayout(configset=solr_configset, shards=solr_shards, replicas=solr_replicas)
    try:
        topics = ensure_ingest_topics(stores, partitions, kafka_replication)
        solr_created = call_with_retry(
            lambda: ensure_solr_collection(
                stores.solr_core_url, layout, timeout_s=max(stores.timeout_s, 60.0), auth=stores.solr_auth()
            ),
            retry_policy(settings.indexer),
            "create the Solr collection",
        )
        index = open_catalog_index(settings, model_facts)  # creates and loads the Milvus collection
    except (IngestError, IndexerError) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    report = {
        "kafka": {"bootstrap_servers": stores.kafka_bootstrap_servers, "created_topics": topics},
        "solr": {"url": stores.solr_core_url, "created": solr_created},
        "milvus": {"uri": stores.milvus_uri, "collection": index.vectors.collection, "items": index.vectors.count()},
        "model_version": model_facts.version,
    }
    typer.echo(json.dumps(report, indent=2))


def solr_security(
    out: Annotated[Path, typer.Argument(help="Where to write security.json (then `solr zk cp` it to ZooKeeper).")],
    admin_password: Annotated[
        str, typer.Option(envvar="SOLR_ADMIN_PASSWORD", show_default=False, help="Password of Solr's admin user.")
    ],
) -> None:
    """Write Solr's security.json: basic auth for admin and for CBIR_STORES_SOLR_USERNAME/_PASSWORD (hashed)."""
    from indexer.solr_security import security_json
    from settings import resolve_settings

    stores = resolve_settings(local_stack=False).stores
    auth = stores.solr_auth()
    if auth is None:
        raise typer.BadParameter("set CBIR_STORES_SOLR_USERNAME and CBIR_STORES_SOLR_PASSWORD")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(security_json(admin_password, *auth), indent=1))
    out.chmod(0o644)  # hashes only; read by the solr image's own user when it uploads the file
    typer.echo(f"wrote {out}: users admin and {auth[0]}")
