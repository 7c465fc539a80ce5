"""`cbir reconcile [--repair]`: compare the ids of the active Milvus collection with Solr's (thin glue)."""

import json
from pathlib import Path
from typing import Annotated

import typer

from cbir.options import MilvusUri, Model, RunDir, SolrUrl

_SHOWN = 20


def reconcile(
    model: Model = None,
    repair: Annotated[bool, typer.Option(help="Delete the orphans found (both kinds)")] = False,
    settle: Annotated[float, typer.Option(help="Seconds between the two checks an orphan must fail")] = 5.0,
    milvus_uri: MilvusUri = None,
    solr_url: SolrUrl = None,
    run_dir: RunDir = None,
    metrics_dir: Annotated[
        Path | None, typer.Option(help="Also write the orphan counts here for `cbir topology metrics`")
    ] = None,
) -> None:
    """Report the ids only one store holds (JSON); with --repair delete them. Exit 1 if orphans remain."""
    from cbir.catalog_stores import open_catalog_index, store_settings
    from indexer.errors import IndexerError
    from indexer.reconcile import repair as repair_orphans
    from indexer.reconcile import settled_orphans
    from ingest.metrics_export import write_orphan_counts

    settings, facts = store_settings(model, milvus_uri, solr_url, run_dir)
    try:
        index = open_catalog_index(settings, facts)
        orphans = settled_orphans(index, settle)
        solr_products = sorted({item.product_id for item in index.get(sorted(orphans.solr_only)).values()})
        if repair:
            repair_orphans(index, orphans)
    except IndexerError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    report = {
        "collection": index.vectors.collection,
        "milvus_only": len(orphans.milvus_only),
        "solr_only": len(orphans.solr_only),
        "milvus_only_ids": sorted(orphans.milvus_only)[:_SHOWN],
        "solr_only_products": solr_products[:_SHOWN],  # re-publish these to index them again
        "repaired": repair,
    }
    typer.echo(json.dumps(report, indent=2))
    if metrics_dir is not None:
        write_orphan_counts(metrics_dir, len(orphans.milvus_only), len(orphans.solr_only))
    if orphans.count and not repair:
        raise typer.Exit(1)
