"""`cbir publish` and `cbir topology ...`: the streaming ingest path from the command line (thin glue)."""

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from cbir.stack.settings import LOOPBACK, StackSettings
from ingest.errors import IngestError
from ingest.folder_catalog import DEFAULT_IMAGE_BASE_URL, folder_photos

RunDir = Annotated[Path | None, typer.Option(help="The local stack's run folder [env CBIR_STACK_RUN_DIR]")]
Bootstrap = Annotated[
    str | None, typer.Option(help="Kafka bootstrap servers [default: the running local stack's Kafka]")
]

_FLUSH_EVERY = 200

topology_app = typer.Typer(help="The streaming ingest topology on Storm.", no_args_is_help=True)


def local_bootstrap(run_dir: Path | None) -> str:
    """The Kafka address of the local stack running from run_dir (the ports its last `up` recorded)."""
    settings = StackSettings() if run_dir is None else StackSettings(run_dir=run_dir)
    return f"{LOOPBACK}:{settings.with_saved_ports().kafka_port}"


def publish(
    folder: Annotated[Path, typer.Argument(help="Folder of photos, <category>/<photo>; metadata is generated")],
    topic: Annotated[str, typer.Option(help="Kafka topic")] = "images",
    bootstrap_servers: Bootstrap = None,
    run_dir: RunDir = None,
    inline: Annotated[bool, typer.Option(help="Send the photos' bytes (base64) instead of URLs to fetch")] = True,
    image_base_url: Annotated[str, typer.Option(help="Base of each photo's image_url")] = DEFAULT_IMAGE_BASE_URL,
    limit: Annotated[int, typer.Option(help="Publish the first N photos only (0: all)")] = 0,
) -> None:
    """Publish a folder catalog to Kafka (deterministic demo titles, brands, prices, colours), with progress."""
    from ingest.folder_catalog import demo_message
    from ingest.publisher import CatalogPublisher

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="FOLDER")
    photos = folder_photos(folder)[: limit or None]
    servers = bootstrap_servers or local_bootstrap(run_dir)
    confirmed = 0
    try:
        with CatalogPublisher(servers, topic=topic) as publisher:
            for count, path in enumerate(tqdm(photos, desc=f"publish to {topic}", unit="photo"), start=1):
                publisher.publish(demo_message(path, folder, image_base_url, inline))
                if count % _FLUSH_EVERY == 0:
                    confirmed += publisher.flush()
            confirmed += publisher.flush()
    except IngestError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"published {confirmed} photos from {folder} to {topic} at {servers}")


def _stack(run_dir: Path | None) -> StackSettings:
    """The settings of the local stack running from run_dir, with the ports its last `up` recorded."""
    return (StackSettings() if run_dir is None else StackSettings(run_dir=run_dir)).with_saved_ports()


@topology_app.command("start")
def start_topology(
    model: Annotated[Path, typer.Option(help="Embedder checkpoint")] = Path("models/catalog.pt"),
    run_dir: RunDir = None,
    partitions: Annotated[int, typer.Option(help="Partitions of the images topic, if it is created")] = 1,
) -> None:
    """Start the ingest topology in the background (LocalCluster) against the local stack, unless it runs."""
    from cbir.ingest_topology import background_topology, local_stack_settings, start_background_topology

    stack = _stack(run_dir)
    running = background_topology(stack)
    if running is not None:
        typer.echo(f"topology already running (PID {running.pid})")
        return
    ingest, indexer = local_stack_settings(stack, model)
    record, log = start_background_topology(stack, ingest, indexer, duration_s=30 * 24 * 3600, partitions=partitions)
    typer.echo(f"topology started in the background (PID {record.pid}), log {log}; `cbir topology stop` stops it")


@topology_app.command("stop")
def stop_topology(run_dir: RunDir = None) -> None:
    """Stop the background topology (`cbir stack down` stops it too)."""
    from cbir.ingest_topology import stop_background_topology

    typer.echo("topology stopped" if stop_background_topology(_stack(run_dir)) else "no topology was running")


@topology_app.command("run")
def run_topology(
    model: Annotated[Path, typer.Option(help="Embedder checkpoint")] = Path("models/catalog.pt"),
    run_dir: RunDir = None,
    duration: Annotated[int, typer.Option(help="Seconds before LocalCluster stops")] = 24 * 3600,
    partitions: Annotated[int, typer.Option(help="Partitions of the images topic, if it is created")] = 1,
    allowed_network: Annotated[
        list[str] | None, typer.Option(help="CIDR whose image URLs may be fetched although internal; repeat")
    ] = None,
    metrics_dir: Annotated[Path | None, typer.Option(help="Write each component's counters here (JSON)")] = None,
) -> None:
    """Run the ingest topology in Storm LocalCluster against the local stack (`cbir stack up`) until Ctrl-C."""
    import time

    from cbir.ingest_topology import local_stack_settings, start_ingest_topology
    from cbir.stack.process import stop
    from ingest.counters import read_counts

    stack = _stack(run_dir)
    extra = {"metrics_dir": metrics_dir.resolve()} if metrics_dir else {}
    ingest, indexer = local_stack_settings(stack, model, allowed_networks=allowed_network or [], **extra)
    record, log = start_ingest_topology(stack, ingest, indexer, duration, partitions)
    typer.echo(f"topology running in LocalCluster (PID {record.pid}), log {log}; Ctrl-C stops it")
    try:
        while record.is_alive():
            time.sleep(10)
            if metrics_dir is not None:
                typer.echo(dict(read_counts(metrics_dir)))
    except KeyboardInterrupt:
        pass
    finally:
        stop(record, timeout_s=30)
    typer.echo("topology stopped")
