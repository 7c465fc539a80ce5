"""`cbir model promote | rollback | list | drop`: the embedder model's life in production (thin glue over
indexer/promotion.py)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cbir.options import MilvusUri, Model, RunDir, SolrUrl

model_app = typer.Typer(help="Promote a new embedder model without downtime, roll back, list and drop models.")

T = TypeVar("T")
EvalSet = Annotated[
    Path, typer.Option(help="Labelled photos (<category>/<photo>) the gate ranks with both models, leave-one-out.")
]
Record = Annotated[Path, typer.Option(help="Each promotion's report (gate, timeline) is appended here, as JSONL.")]


def _stores(model: Path | None, milvus_uri: str | None, solr_url: str | None, run_dir: Path | None) -> Any:
    """The promotion's stores (registry, Solr, photo store, collections) and the settings' model record."""
    from cbir.catalog_stores import open_catalog_index, store_settings
    from indexer.catalog_index import CatalogIndex
    from indexer.model_registry import ModelRecord, ModelRegistry, settings_model
    from indexer.photo_store import PhotoStore
    from indexer.promotion import Stores
    from indexer.vector_store import VectorStore

    settings, facts = store_settings(model, milvus_uri, solr_url, run_dir)

    def collection(record: ModelRecord) -> VectorStore:
        return CatalogIndex.from_settings(settings.stores, settings.indexer, record.version, record.dim).vectors

    stores = Stores(
        registry=ModelRegistry.connect(settings.stores), metadata=open_catalog_index(settings, facts).metadata,
        photos=PhotoStore(settings.stores.photo_store), collection=collection, poll_s=settings.embedding.model_poll_s,
    )  # fmt: skip
    return stores, settings_model(settings.embedding)


def _run(action: Callable[[], T]) -> T:
    """Run a store action; a refusal or a store error is one red line and exit 1."""
    from indexer.errors import IndexerError

    try:
        return action()
    except IndexerError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


def _append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as log:
        log.write(json.dumps({"at": datetime.now(UTC).isoformat(), **record}) + "\n")


@model_app.command()
def promote(
    checkpoint: Annotated[Path, typer.Argument(help="The new model's checkpoint (readable by every API and worker).")],
    eval_set: EvalSet = Path("../shared/datasets/clothing-small/validation"),
    tolerance: Annotated[float, typer.Option(help="How much lower R@1 / mAP@all the gate still accepts.")] = 0.0,
    record: Record = Path("run/models/promotions.jsonl"),
    model: Model = None,
    milvus_uri: MilvusUri = None,
    solr_url: SolrUrl = None,
    run_dir: RunDir = None,
) -> None:
    """Gate the new model, build its collection while searches go on, catch up, and switch searches to it."""
    from indexer.promotion import promote

    if not checkpoint.is_file():
        raise typer.BadParameter(f"no checkpoint at {checkpoint}", param_hint="CHECKPOINT")
    stores, fallback = _run(lambda: _stores(model, milvus_uri, solr_url, run_dir))
    try:
        report = _run(lambda: promote(stores, fallback, checkpoint, eval_set, tolerance))
    except typer.Exit:
        _append(record, {"checkpoint": str(checkpoint), "switched": False})
        raise
    _append(record, {"checkpoint": str(checkpoint), **report.as_dict()})
    typer.echo(json.dumps(report.as_dict(), indent=2, default=str))


@model_app.command()
def rollback(
    model: Model = None, milvus_uri: MilvusUri = None, solr_url: SolrUrl = None, run_dir: RunDir = None
) -> None:
    """Switch searches back to the previous model (its collection caught up with the serving one's first)."""
    from indexer.promotion import rollback as roll_back

    stores, _ = _run(lambda: _stores(model, milvus_uri, solr_url, run_dir))
    serving, rounds = _run(lambda: roll_back(stores))
    typer.echo(json.dumps({"serving": serving.model_dump(mode="json"), "catch_up": [vars(r) for r in rounds]},
                          indent=2))  # fmt: skip


@model_app.command("list")
def list_models(
    model: Model = None, milvus_uri: MilvusUri = None, solr_url: SolrUrl = None, run_dir: RunDir = None
) -> None:
    """The registered models (serving, building, standby) with their gate numbers, as JSON."""
    stores, fallback = _run(lambda: _stores(model, milvus_uri, solr_url, run_dir))
    serving = _run(stores.registry.serving)
    models = _run(stores.registry.models)
    typer.echo(json.dumps({
        "serving": serving.model_dump(mode="json") if serving else {"version": fallback.version, "from": "settings"},
        "models": [record.model_dump(mode="json") for record in models.values()],
    }, indent=2))  # fmt: skip


@model_app.command()
def drop(
    version: Annotated[str, typer.Argument(help="The model version to forget; its collection is deleted.")],
    model: Model = None,
    milvus_uri: MilvusUri = None,
    solr_url: SolrUrl = None,
    run_dir: RunDir = None,
) -> None:
    """Forget a model that does not serve and delete its collection (rollback to it is no longer possible)."""
    from indexer.promotion import drop as drop_model

    stores, _ = _run(lambda: _stores(model, milvus_uri, solr_url, run_dir))
    _run(lambda: drop_model(stores, version))
    typer.echo(f"dropped model {version} and its collection")
