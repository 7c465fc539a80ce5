"""`cbir migrate-ids`: move items indexed under the old identity (the photo's SHA-256) to the new one (thin glue)."""

import json

import typer

from cbir.options import MilvusUri, Model, RunDir, SolrUrl


def migrate_ids(
    model: Model = None,
    milvus_uri: MilvusUri = None,
    solr_url: SolrUrl = None,
    run_dir: RunDir = None,
) -> None:
    """Rewrite the model version's items indexed before photo_sha256 under their new ids (safe to re-run)."""
    from cbir.catalog_stores import open_catalog_index, store_settings
    from indexer.errors import IndexerError
    from indexer.migrate_ids import migrate_item_ids

    settings, facts = store_settings(model, milvus_uri, solr_url, run_dir)
    try:
        report = migrate_item_ids(open_catalog_index(settings, facts))
    except IndexerError as error:
        typer.secho(f"{error}; run it again to carry on", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(report.as_dict(), indent=2))
