"""`cbir migrate-ids`: move items indexed under the old identity (the photo's SHA-256) to the new one (thin glue)."""

import json
from pathlib import Path
from typing import Annotated

import typer


def migrate_ids(
    model: Annotated[Path, typer.Option(help="Checkpoint; its version names the collection to migrate.")] = Path(
        "models/catalog.pt"
    ),
    milvus_uri: Annotated[str | None, typer.Option(help="[env CBIR_INDEXER_MILVUS_URI; default: the stack's]")] = None,
    solr_url: Annotated[
        str | None, typer.Option(help="Solr core URL [env CBIR_INDEXER_SOLR_CORE_URL; default: the stack's]")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")] = None,
) -> None:
    """Rewrite the model version's items indexed before photo_sha256 under their new ids (safe to re-run)."""
    from cbir.indexer_connection import indexer_settings
    from embedder import Embedder
    from indexer.catalog_index import CatalogIndex
    from indexer.errors import IndexerError
    from indexer.migrate_ids import migrate_item_ids

    embedder = Embedder.load(model)
    settings = indexer_settings(milvus_uri, solr_url, run_dir).model_copy(update={"model_version": embedder.version})
    try:
        report = migrate_item_ids(CatalogIndex.from_settings(settings, embedder.dim))
    except IndexerError as error:
        typer.secho(f"{error}; run it again to carry on", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(report.as_dict(), indent=2))
