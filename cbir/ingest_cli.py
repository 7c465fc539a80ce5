"""`cbir publish` and `cbir topology ...`: the streaming ingest path from the command line (thin glue)."""

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from devstack.settings import LOOPBACK, stack_settings_of
from ingest.errors import IngestError

RunDir = Annotated[Path | None, typer.Option(help="The local stack's run folder [env CBIR_STACK_RUN_DIR]")]
Bootstrap = Annotated[
    str | None,
    typer.Option(help="Kafka bootstrap servers [env CBIR_STORES_KAFKA_BOOTSTRAP_SERVERS; default: the stack's]"),
]
Model = Annotated[
    Path | None, typer.Option(help="Embedder checkpoint [env CBIR_EMBEDDING_MODEL_PATH; default models/catalog.pt]")
]

_FLUSH_EVERY = 200

topology_app = typer.Typer(help="The streaming ingest topology on Storm.", no_args_is_help=True)


def publish(
    folder: Annotated[Path, typer.Argument(help="Folder of photos, <category>/<photo>; metadata is generated")],
    topic: Annotated[str | None, typer.Option(help="Kafka topic [env CBIR_STORES_TOPIC; default images]")] = None,
    bootstrap_servers: Bootstrap = None,
    run_dir: RunDir = None,
    inline: Annotated[bool, typer.Option(help="Send the photos' bytes (base64) instead of URLs to fetch")] = True,
    image_base_url: Annotated[
        str | None, typer.Option(help="Base of each photo's image_url [default: https://img.cbir-demo.example/]")
    ] = None,
    limit: Annotated[int, typer.Option(help="Publish the first N photos only (0: all)")] = 0,
) -> None:
    """Publish a folder catalog to Kafka (deterministic demo titles, brands, prices, colours), with progress."""
    from embedder.data.image_folder import folder_photos
    from ingest.folder_catalog import DEFAULT_IMAGE_BASE_URL, demo_message
    from ingest.publisher import CatalogPublisher
    from settings import resolve_settings

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="FOLDER")
    photos = folder_photos(folder)[: limit or None]
    stores = resolve_settings(
        {"stores": {"kafka_bootstrap_servers": bootstrap_servers, "topic": topic}}, run_dir
    ).stores
    servers, topic = stores.kafka_bootstrap_servers, stores.topic
    confirmed = 0
    try:
        with CatalogPublisher(stores, topic=topic) as publisher:
            for count, path in enumerate(tqdm(photos, desc=f"publish to {topic}", unit="photo"), start=1):
                publisher.publish(demo_message(path, folder, image_base_url or DEFAULT_IMAGE_BASE_URL, inline))
                if count % _FLUSH_EVERY == 0:
                    confirmed += publisher.flush()
            confirmed += publisher.flush()
    except IngestError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"published {confirmed} photos from {folder} to {topic} at {servers}")


@topology_app.command("start")
def start_topology(
    model: Model = None,
    run_dir: RunDir = None,
    partitions: Annotated[int, typer.Option(help="Partitions of the images topic, if it is created")] = 1,
) -> None:
    """Start the ingest topology in the background (LocalCluster) against the local stack, unless it runs."""
    from settings import resolve_settings
    from topologies.ingest.runner import background_topology, start_background_topology

    stack = stack_settings_of(run_dir)
    running = background_topology(stack)
    if running is not None:
        typer.echo(f"topology already running (PID {running.pid})")
        return
    settings = resolve_settings({"embedding": {"model_path": model}}, run_dir)
    record, log = start_background_topology(stack, settings, duration_s=30 * 24 * 3600, partitions=partitions)
    typer.echo(f"topology started in the background (PID {record.pid}), log {log}; `cbir topology stop` stops it")


@topology_app.command("stop")
def stop_topology(run_dir: RunDir = None) -> None:
    """Stop the background topology (`cbir stack down` stops it too)."""
    from topologies.ingest.runner import stop_background_topology

    typer.echo(
        "topology stopped" if stop_background_topology(stack_settings_of(run_dir)) else "no topology was running"
    )


@topology_app.command("run")
def run_topology(
    model: Model = None,
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

    from devstack.process import stop
    from ingest.counters import read_counts
    from settings import resolve_settings
    from topologies.ingest.runner import start_ingest_topology

    stack = stack_settings_of(run_dir)
    options = {"embedding": {"model_path": model}, "fetch": {"allowed_networks": allowed_network},
               "ingest": {"metrics_dir": metrics_dir}}  # fmt: skip
    settings = resolve_settings(options, run_dir)
    metrics_dir = settings.ingest.metrics_dir
    record, log = start_ingest_topology(stack, settings, duration, partitions)
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


Nimbus = Annotated[
    str | None, typer.Option(help="Nimbus as HOST:PORT [default: the Nimbus of the running `cbir stack up --cluster`]")
]
Name = Annotated[str, typer.Option(help="Topology name")]


def _nimbus_address(nimbus: str | None, run_dir: Path | None) -> tuple[str, int]:
    """--nimbus, or the Nimbus of the cluster stack running from the run folder."""
    from topologies.storm.nimbus import parse_nimbus

    if nimbus is not None:
        return parse_nimbus(nimbus)
    stack = stack_settings_of(run_dir)
    if not stack.cluster:
        raise typer.BadParameter(f"no `cbir stack up --cluster` recorded in {stack.run_dir}", param_hint="--nimbus")
    return LOOPBACK, stack.cluster_ports.nimbus


@topology_app.command("submit")
def submit_topology(
    nimbus: Nimbus = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Checkpoint, a path the workers can read [env CBIR_EMBEDDING_MODEL_PATH; models/catalog.pt]"),
    ] = None,
    run_dir: RunDir = None,
    name: Name = "ingest",
    partitions: Annotated[int, typer.Option(help="Partitions of the images topic, if it is created")] = 4,
    replication: Annotated[
        int | None, typer.Option(help="Replication of created topics [3 on the cluster stack]")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker JVMs")] = 2,
    spout_parallelism: Annotated[int | None, typer.Option(help="Spout tasks [one per partition, up to 4]")] = None,
    fetch_parallelism: Annotated[int, typer.Option()] = 2,
    embed_parallelism: Annotated[int, typer.Option()] = 2,
    index_parallelism: Annotated[int, typer.Option()] = 2,
    allowed_network: Annotated[
        list[str] | None, typer.Option(help="CIDR whose image URLs may be fetched although internal; repeat")
    ] = None,
) -> None:
    """Submit the ingest topology to a Storm cluster through Nimbus's Thrift API (Flux --remote, Maven-built jar).

    Without --nimbus it targets `cbir stack up --cluster` and its ports (unless CBIR_STORES_* say otherwise); with
    --nimbus the Kafka, Milvus and Solr addresses come from CBIR_STORES_* (as in a docker-compose job).
    """
    from devstack.errors import StackError
    from settings import resolve_settings
    from topologies.ingest.runner import submit_ingest_topology
    from topologies.storm.submit import Parallelism

    address = _nimbus_address(nimbus, run_dir)
    stack = stack_settings_of(run_dir)
    options = {"embedding": {"model_path": model}, "fetch": {"allowed_networks": allowed_network}}
    settings = resolve_settings(options, run_dir, local_stack=nimbus is None)
    parallelism = Parallelism(
        workers=workers, spout=spout_parallelism, fetch=fetch_parallelism,
        embed=embed_parallelism, index=index_parallelism,
    )  # fmt: skip
    copies = replication if replication is not None else (3 if stack.cluster and nimbus is None else 1)
    try:
        executors = submit_ingest_topology(stack, settings, address, parallelism, partitions, copies, name)
    except (StackError, IngestError) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"submitted {name} to Nimbus {address[0]}:{address[1]}: {workers} workers, executors {executors}")


@topology_app.command("kill")
def kill_topology(
    name: Annotated[str, typer.Argument(help="Topology name")] = "ingest",
    nimbus: Nimbus = None,
    run_dir: RunDir = None,
    wait: Annotated[int, typer.Option(help="Seconds Storm lets the workers finish in-flight tuples")] = 5,
) -> None:
    """Kill a topology on the cluster (through Nimbus's Thrift API)."""
    from devstack.errors import StackError
    from topologies.storm.nimbus import kill_topology as kill

    host, port = _nimbus_address(nimbus, run_dir)
    try:
        kill(host, port, name, wait)
    except StackError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"killed {name}; its workers stop within {wait} s")


@topology_app.command("list")
def list_topologies(nimbus: Nimbus = None, run_dir: RunDir = None) -> None:
    """The cluster's supervisors (used/total slots) and topologies (status, workers, executors, uptime)."""
    from devstack.errors import StackError
    from topologies.storm.nimbus import cluster_summary

    host, port = _nimbus_address(nimbus, run_dir)
    try:
        state = cluster_summary(host, port)
    except StackError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    for supervisor_host, slots, used in state.supervisors:
        typer.echo(f"supervisor {supervisor_host}: {used}/{slots} slots used")
    for t in state.topologies:
        typer.echo(
            f"{t.name:<16}{t.status:<10}{t.workers} workers  {t.executors} executors  up {t.uptime_s} s  ({t.id})"
        )
    if not state.topologies:
        typer.echo("no topologies")


@topology_app.command("metrics")
def serve_metrics(
    metrics_dir: Annotated[Path, typer.Option(help="The topology's --metrics-dir (counters JSON files)")],
    port: Annotated[int, typer.Option(help="Port of the Prometheus endpoint (/metrics)")] = 9108,
    host: Annotated[str, typer.Option(help="Address to listen on")] = LOOPBACK,
    bootstrap_servers: Bootstrap = None,
    run_dir: RunDir = None,
) -> None:
    """Serve the topology's counters, stage latencies, consumer lag per partition and orphan counts to Prometheus."""
    import time

    from prometheus_client import start_http_server

    from ingest.metrics_export import ingest_registry
    from settings import resolve_settings

    settings = resolve_settings({"stores": {"kafka_bootstrap_servers": bootstrap_servers}}, run_dir)
    stores = settings.stores
    registry = ingest_registry(metrics_dir, stores, stores.topic, settings.ingest.consumer_group)
    start_http_server(port, addr=host, registry=registry)
    typer.echo(f"serving ingest metrics on http://{host}:{port}/metrics (Ctrl-C stops)")
    while True:
        time.sleep(3600)
