"""Running the ingest topology: in Storm's LocalCluster against the local stack (in the foreground or in the
background: `cbir topology run` / `start`, the tests), or submitted to a Storm cluster (`cbir topology submit`)."""

from pathlib import Path

from devstack.process import PidFile, ProcessRecord, stop
from devstack.settings import StackSettings
from ingest.topics import ensure_ingest_topics
from settings import Settings
from topologies.ingest.storm_conf import storm_config
from topologies.storm.local_cluster import run_local_topology
from topologies.storm.submit import Parallelism, cluster_flux_definition, submit_topology

TOPOLOGY_NAME = "ingest"


def for_workers(settings: Settings) -> Settings:
    """The settings with their paths absolute, as the topology's workers (another directory) must read them."""
    metrics_dir = settings.ingest.metrics_dir
    return settings.changed(
        embedding={"model_path": settings.embedding.model_path.resolve()},
        ingest={"metrics_dir": metrics_dir.resolve() if metrics_dir is not None else None},
    )


def start_ingest_topology(
    stack: StackSettings, settings: Settings, duration_s: int, partitions: int = 1
) -> tuple[ProcessRecord, Path]:
    """Create the topics if missing and start LocalCluster with the topology; returns its process and log."""
    from topologies.ingest.topology import IngestTopology

    ensure_ingest_topics(settings.stores, partitions)
    config = storm_config(for_workers(settings))
    return run_local_topology(stack, IngestTopology, TOPOLOGY_NAME, config, duration_s)


def _pid_file(stack: StackSettings) -> PidFile:
    """Where a background topology of this run folder is recorded (so `cbir stack down` stops it too)."""
    return PidFile(stack.run_dir, f"topology-{TOPOLOGY_NAME}")


def background_topology(stack: StackSettings) -> ProcessRecord | None:
    """The background topology of this run folder, if one is running."""
    record = _pid_file(stack).read()
    return record if record is not None and record.is_alive() else None


def start_background_topology(
    stack: StackSettings, settings: Settings, duration_s: int, partitions: int = 1
) -> tuple[ProcessRecord, Path]:
    """Start the topology and record it in the run folder; it outlives this process until stopped."""
    record, log = start_ingest_topology(stack, settings, duration_s, partitions)
    _pid_file(stack).write(record)
    return record, log


def stop_background_topology(stack: StackSettings, timeout_s: float = 30) -> bool:
    """Stop the recorded background topology; whether one was running."""
    record = _pid_file(stack).read()
    running = record is not None and record.is_alive()
    if record is not None:
        stop(record, timeout_s)
        _pid_file(stack).remove()
    return running


def submit_ingest_topology(
    stack: StackSettings,
    settings: Settings,
    nimbus: tuple[str, int],
    parallelism: Parallelism,
    partitions: int,
    replication: int = 1,
    name: str = TOPOLOGY_NAME,
) -> dict[str, int]:
    """Create the topics if missing and submit the topology to Nimbus; returns the executors per component."""
    from topologies.ingest.topology import IngestTopology

    ensure_ingest_topics(settings.stores, partitions, replication)
    executors = parallelism.by_component(partitions)
    config = storm_config(for_workers(settings))
    definition = cluster_flux_definition(IngestTopology, name, config, parallelism.workers, executors)
    submit_topology(stack, definition, nimbus, stack.service_dir("submit"))
    return executors
