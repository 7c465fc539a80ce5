"""`cbir mine`: cluster the live catalog's vectors and write new-category and mislabelled-item proposals."""

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

logger = logging.getLogger(__name__)


def mine(
    model: Annotated[Path, typer.Option(help="The active checkpoint; its version names the Milvus collection.")] = Path(
        "models/catalog.pt"
    ),
    out: Annotated[Path, typer.Option(help="Proposals to write (JSON), read by the annotation page.")] = Path(
        "run/mining/proposals.json"
    ),
    clusters: Annotated[int, typer.Option(min=0, help="k of k-means (0: twice the known categories).")] = 0,
    min_size: Annotated[int, typer.Option(min=1, help="Smallest cluster worth proposing.")] = 10,
    milvus_uri: Annotated[str | None, typer.Option(help="[env CBIR_INDEXER_MILVUS_URI; default: the stack's]")] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Cluster the active model's vectors; propose new categories and items whose category looks wrong."""
    from cbir.indexer_connection import indexer_settings
    from embedder.checkpoint_facts import read_config
    from indexer.errors import IndexerError
    from indexer.vector_store import VectorStore
    from mining.catalog_vectors import read_catalog_vectors
    from mining.proposals import MiningSettings, propose

    facts = read_config(model)
    settings = indexer_settings(milvus_uri, None, run_dir)
    started = time.monotonic()
    try:
        store = VectorStore.connect(settings.milvus_uri, facts.version, facts.dim, timeout_s=settings.timeout_s)
        catalog = read_catalog_vectors(store, progress)
    except IndexerError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    read_s = time.monotonic() - started
    report = propose(catalog.vectors, catalog.ids, catalog.categories, MiningSettings(clusters, min_size))
    result = {**report.to_dict(), "model_version": store.model_version, "read_s": round(read_s, 2),
              "seconds": round(time.monotonic() - started, 2)}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    mislabelled = sum(len(p.mislabelled) for p in report.proposals)
    typer.echo(
        f"{report.items} items in {len(report.proposals)} clusters: {len(report.new_categories)} new-category "
        f"proposals, {mislabelled} items that look mislabelled; {result['seconds']} s; written to {out}"
    )
