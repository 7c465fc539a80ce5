"""`cbir api serve`: the search API and the shopper page, against the running local stack by default.

Mount it in the main CLI with `app.add_typer(api_app, name="api")`.
"""

from pathlib import Path
from typing import Annotated

import typer

from api.settings import ApiSettings, get_api_settings
from cbir.indexer_connection import unless_set
from cbir.stack.settings import stack_settings_of

api_app = typer.Typer(help="The search API and the shopper web page.", no_args_is_help=True)


def serving_settings(
    host: str | None,
    port: int | None,
    model: Path | None,
    photo_dir: Path | None,
    run_dir: Path | None,
    text_encoder: Path | None = None,
) -> ApiSettings:
    """`CBIR_API_*` settings, overridden by the options; store addresses not set in the environment are taken
    from the ports the local stack recorded (`cbir stack up`), like `cbir index-folder` does."""
    settings = get_api_settings()
    updates: dict[str, object] = {
        name: value
        for name, value in {
            "host": host,
            "port": port,
            "model_path": model,
            "photo_dir": photo_dir,
            "text_encoder_path": text_encoder,
        }.items()
        if value is not None
    }
    stack = stack_settings_of(run_dir)
    recorded = {
        "milvus_uri": stack.milvus_uri(),
        "solr_core_url": stack.solr_core_url(),
        "kafka_bootstrap_servers": stack.kafka_bootstrap(),
    }
    updates.update(unless_set(settings, stack, recorded))
    return settings.model_copy(update=updates)


@api_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="[env CBIR_API_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env CBIR_API_PORT, default 8000]")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Checkpoint [env CBIR_API_MODEL_PATH, default models/catalog.pt]")
    ] = None,
    photo_dir: Annotated[
        Path | None, typer.Option(help="Serve this folder's photos at /v1/items/{id}/photo [env CBIR_API_PHOTO_DIR]")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `cbir stack up` [env CBIR_STACK_RUN_DIR]")] = None,
    text_encoder: Annotated[
        Path | None,
        typer.Option(help="Embed words alone too, fused with BM25 [env CBIR_API_TEXT_ENCODER_PATH, default none]"),
    ] = None,
) -> None:
    """Serve the API (uvicorn, one process) until Ctrl-C; prints an example query once it listens."""
    import uvicorn

    from api.app import create_app

    settings = serving_settings(host, port, model, photo_dir, run_dir, text_encoder)
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"search API and shopper page on {base}/  (OpenAPI docs: {base}/docs)")
    typer.echo(f"stores: Milvus {settings.milvus_uri}, Solr {settings.solr_core_url}, "
               f"Kafka {settings.kafka_bootstrap_servers}")  # fmt: skip
    typer.echo(f"example: curl -s -F image=@photo.jpg -F k=5 {base}/v1/search")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
