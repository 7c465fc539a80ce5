"""`cbir stack ...`: the local stack from the command line.

Mount it in the main CLI with `app.add_typer(stack_app, name="stack")`.
"""

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from devstack.errors import StackError
from devstack.jvm import resolve_jvm_deps
from devstack.launcher import Stack
from devstack.settings import StackSettings, stack_settings_of

stack_app = typer.Typer(help="Run Kafka, Solr and Milvus locally on 127.0.0.1 (no Docker).", no_args_is_help=True)

RunDir = Annotated[Path | None, typer.Option(help="Run folder for logs, data and PIDs [env CBIR_STACK_RUN_DIR]")]


def _settings(run_dir: Path | None, **options: int | bool | None) -> StackSettings:
    """Environment settings, overridden by the options given on the command line."""
    overrides: dict[str, object] = {name: value for name, value in options.items() if value is not None}
    if run_dir is not None:
        overrides["run_dir"] = run_dir
    return StackSettings(**overrides)  # type: ignore[arg-type]


def _log_progress() -> None:
    """Show the launcher's progress messages, not those of the client libraries it uses."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("cbir").setLevel(logging.INFO)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # its health-check connections are noisy


def _fail(error: StackError) -> None:
    """Print a stack error and exit with status 1."""
    typer.secho(str(error), fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@stack_app.command()
def deps(
    force: Annotated[bool, typer.Option(help="Resolve again even if the cache is current")] = False,
) -> None:
    """Resolve the pinned JVM artifacts (deploy/versions.env) into deploy/cache/ with Maven."""
    _log_progress()
    try:
        ran = resolve_jvm_deps(StackSettings(), force=force)
    except StackError as error:
        _fail(error)
    typer.echo("JVM artifacts resolved" if ran else "JVM artifacts already cached")


@stack_app.command()
def up(
    run_dir: RunDir = None,
    kafka_port: Annotated[int | None, typer.Option(help="[env CBIR_STACK_KAFKA_PORT, default 9092]")] = None,
    kafka_controller_port: Annotated[int | None, typer.Option(help="[default 9093]")] = None,
    solr_port: Annotated[int | None, typer.Option(help="[env CBIR_STACK_SOLR_PORT, default 8983]")] = None,
    milvus_port: Annotated[int | None, typer.Option(help="[env CBIR_STACK_MILVUS_PORT, default 19530]")] = None,
    cluster: Annotated[
        bool | None,
        typer.Option(
            "--cluster",
            help="A Storm cluster (ZooKeeper, Nimbus, 2 Supervisors) and 3 Kafka brokers [env CBIR_STACK_CLUSTER]",
        ),
    ] = None,
    cluster_base_port: Annotated[
        int | None,
        typer.Option(
            help="First of the cluster's 14 consecutive ports [env CBIR_STACK_CLUSTER_BASE_PORT, default 16700]"
        ),
    ] = None,
) -> None:
    """Start Kafka, Solr and Milvus (those not running yet) and wait until they are healthy."""
    _log_progress()
    settings = _settings(
        run_dir, kafka_port=kafka_port, kafka_controller_port=kafka_controller_port,
        solr_port=solr_port, milvus_port=milvus_port, cluster=cluster, cluster_base_port=cluster_base_port,
    )  # fmt: skip
    started = time.monotonic()
    try:
        outcome = Stack(settings).up()
    except StackError as error:
        _fail(error)
    for name, what in outcome.items():
        typer.echo(f"{name}: {what}")
    typer.echo(f"stack healthy in {time.monotonic() - started:.1f} s (run folder {settings.run_dir})")


@stack_app.command()
def down(run_dir: RunDir = None) -> None:
    """Stop the processes `cbir stack up` started (by their recorded PIDs) and a background topology."""
    from topologies.ingest.runner import stop_background_topology

    settings = stack_settings_of(run_dir)
    if stop_background_topology(settings):
        typer.echo("topology: stopped")
    for name, what in Stack(settings).down().items():
        typer.echo(f"{name}: {what}")


@stack_app.command()
def status(
    run_dir: RunDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """Show each service's address, PID and health; exit status 1 unless all are healthy."""
    statuses = Stack(stack_settings_of(run_dir)).status()
    if as_json:
        typer.echo(json.dumps({s.name: s.as_dict() for s in statuses}, indent=2))
    else:
        for s in statuses:
            health = "healthy" if s.healthy else ("running, not healthy" if s.running else "down")
            typer.echo(f"{s.name:<14}{s.address:<36}pid {s.pid or '-':<9}{health}")
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


if __name__ == "__main__":
    stack_app()
