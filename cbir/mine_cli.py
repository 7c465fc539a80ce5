"""`cbir mine`: cluster the live catalog's vectors and write new-category and mislabelled-item proposals."""

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from cbir.options import MilvusUri, Model, RunDir

logger = logging.getLogger(__name__)


def mine(
    model: Model = None,
    out: Annotated[Path, typer.Option(help="Proposals to write (JSON), read by the annotation page.")] = Path(
        "run/mining/proposals.json"
    ),
    clusters: Annotated[int, typer.Option(min=0, help="k of k-means (0: twice the known categories).")] = 0,
    min_size: Annotated[int, typer.Option(min=1, help="Smallest cluster worth proposing.")] = 10,
    milvus_uri: MilvusUri = None,
    run_dir: RunDir = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Cluster the active model's vectors; propose new categories and items whose category looks wrong."""
    from cbir.catalog_stores import store_settings
    from indexer.errors import IndexerError
    from indexer.vector_store import VectorStore
    from mining.catalog_vectors import read_catalog_vectors
    from mining.proposals import MiningSettings, propose

    settings, facts = store_settings(model, milvus_uri, run_dir=run_dir)
    started = time.monotonic()
    try:
        store = VectorStore.from_settings(settings.stores, facts.version, facts.dim)
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
