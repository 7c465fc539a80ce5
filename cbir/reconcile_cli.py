"""`cbir reconcile [--repair]`: compare the ids of the active Milvus collection with Solr's (thin glue)."""

import json
from pathlib import Path
from typing import Annotated

import typer

_SHOWN = 20


def reconcile(
    model: Annotated[Path, typer.Option(help="Checkpoint; its version names the active Milvus collection.")] = Path(
        "models/catalog.pt"
    ),
    repair: Annotated[bool, typer.Option(help="Delete the orphans found (both kinds)")] = False,
    settle: Annotated[float, typer.Option(help="Seconds between the two checks an orphan must fail")] = 5.0,
    milvus_uri: Annotated[str | None, typer.Option(help="[env CBIR_INDEXER_MILVUS_URI; default: the stack's]")] = None,
    solr_url: Annotated[
        str | None, typer.Option(help="Solr core URL [env CBIR_INDEXER_SOLR_CORE_URL; default: the stack's]")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")] = None,
    metrics_dir: Annotated[
        Path | None, typer.Option(help="Also write the orphan counts here for `cbir topology metrics`")
    ] = None,
) -> None:
    """Report the ids only one store holds (JSON); with --repair delete them. Exit 1 if orphans remain."""
    from cbir.indexer_connection import indexer_settings
    from embedder import Embedder
    from indexer.catalog_index import CatalogIndex
    from indexer.errors import IndexerError
    from indexer.reconcile import repair as repair_orphans
    from indexer.reconcile import settled_orphans
    from ingest.metrics_export import write_orphan_counts

    embedder = Embedder.load(model)
    settings = indexer_settings(milvus_uri, solr_url, run_dir).model_copy(update={"model_version": embedder.version})
    try:
        index = CatalogIndex.from_settings(settings, embedder.dim)
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
