"""`cbir init-stores`: create what the platform writes to (Kafka topics, Solr collection, Milvus collection).

Run once before the topology and the API start (docker-compose's `init` job does); every step is idempotent.
Addresses come from `CBIR_INGEST_*` and `CBIR_INDEXER_*`, like the topology and the API read them.
"""

import json
from pathlib import Path
from typing import Annotated

import typer


def init_stores(
    model: Annotated[Path, typer.Option(help="Checkpoint; its version names the Milvus collection.")] = Path(
        "models/catalog.pt"
    ),
    partitions: Annotated[int, typer.Option(min=1, help="Partitions of the images topic, if it is created.")] = 1,
    kafka_replication: Annotated[int, typer.Option(min=1, help="Replication factor of new topics.")] = 1,
    solr_configset: Annotated[str, typer.Option(help="Configset in ZooKeeper for a new Solr collection.")] = "catalog",
    solr_shards: Annotated[int, typer.Option(min=1, help="Shards of a new Solr collection.")] = 1,
    solr_replicas: Annotated[int, typer.Option(min=1, help="Replicas per shard of a new Solr collection.")] = 1,
) -> None:
    """Create the Kafka topics, the Solr collection and the model's Milvus collection if they are missing."""
    from embedder import Embedder
    from indexer.catalog_index import CatalogIndex
    from indexer.errors import IndexerError
    from indexer.retry import call_with_retry
    from indexer.settings import get_indexer_settings
    from indexer.solr_collection import SolrCollectionLayout, ensure_solr_collection
    from ingest.errors import IngestError
    from ingest.settings import get_ingest_settings
    from ingest.topics import ensure_ingest_topics

    ingest = get_ingest_settings()
    embedder = Embedder.load(model)
    indexer = get_indexer_settings().model_copy(update={"model_version": embedder.version})
    layout = SolrCollectionLayout(configset=solr_configset, shards=solr_shards, replicas=solr_replicas)
    try:
        topics = ensure_ingest_topics(ingest, partitions, kafka_replication)
        solr_created = call_with_retry(
            lambda: ensure_solr_collection(indexer.solr_core_url, layout, timeout_s=max(indexer.timeout_s, 60.0)),
            indexer.retry_policy(),
            "create the Solr collection",
        )
        index = CatalogIndex.from_settings(indexer, embedder.dim)  # creates and loads the Milvus collection
    except (IngestError, IndexerError) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    report = {
        "kafka": {"bootstrap_servers": ingest.bootstrap_servers, "created_topics": topics},
        "solr": {"url": indexer.solr_core_url, "created": solr_created},
        "milvus": {"uri": indexer.milvus_uri, "collection": index.vectors.collection, "items": index.vectors.count()},
        "model_version": embedder.version,
    }
    typer.echo(json.dumps(report, indent=2))
