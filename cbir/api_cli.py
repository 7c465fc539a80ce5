"""`cbir api serve`: the search API and the shopper page, against the running local stack by default.

Mount it in the main CLI with `app.add_typer(api_app, name="api")`.
"""

from pathlib import Path
from typing import Annotated

import typer

from settings import Settings, resolve_settings

api_app = typer.Typer(help="The search API and the shopper web page.", no_args_is_help=True)


def serving_settings(
    host: str | None,
    port: int | None,
    model: Path | None,
    photo_dir: Path | None,
    run_dir: Path | None,
    text_encoder: Path | None = None,
    pair_scorer: Path | None = None,
) -> Settings:
    """The settings, the options over the environment over the running local stack's addresses (`cbir stack up`)."""
    options = {
        "api": {"host": host, "port": port, "photo_dir": photo_dir},
        "embedding": {"model_path": model, "text_encoder_path": text_encoder, "pair_scorer_path": pair_scorer},
    }
    return resolve_settings(options, run_dir)


@api_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="[env CBIR_API_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env CBIR_API_PORT, default 8000]")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Checkpoint [env CBIR_EMBEDDING_MODEL_PATH, default models/catalog.pt]")
    ] = None,
    photo_dir: Annotated[
        Path | None, typer.Option(help="Serve this folder's photos at /v1/items/{id}/photo [env CBIR_API_PHOTO_DIR]")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")] = None,
    text_encoder: Annotated[
        Path | None,
        typer.Option(help="Embed words alone too, fused with BM25 [env CBIR_EMBEDDING_TEXT_ENCODER_PATH]"),
    ] = None,
    pair_scorer: Annotated[
        Path | None,
        typer.Option(
            help="The learned re-ranker's scorer (`cbir train-pair-scorer`) [env CBIR_EMBEDDING_PAIR_SCORER_PATH]"
        ),
    ] = None,
) -> None:
    """Serve the API (uvicorn, one process) until Ctrl-C; prints an example query once it listens."""
    import uvicorn

    from api.app import create_app

    settings = serving_settings(host, port, model, photo_dir, run_dir, text_encoder, pair_scorer)
    api, stores = settings.api, settings.stores
    base = f"http://{api.host}:{api.port}"
    typer.echo(f"search API and shopper page on {base}/  (OpenAPI docs: {base}/docs)")
    typer.echo(f"stores: Milvus {stores.milvus_uri}, Solr {stores.solr_core_url}, "
               f"Kafka {stores.kafka_bootstrap_servers}")  # fmt: skip
    typer.echo(f"example: curl -s -F image=@photo.jpg -F k=5 {base}/v1/search")
    uvicorn.run(create_app(settings), host=api.host, port=api.port, log_level="info")
