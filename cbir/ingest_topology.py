"""Run the ingest topology in Storm's LocalCluster against the local stack (used by `cbir topology run`)."""

from pathlib import Path
from typing import Any

from cbir.stack.process import PidFile, ProcessRecord, stop
from cbir.stack.settings import StackSettings
from cbir.stack.storm_local import run_local_topology
from cbir.stack.storm_submit import Parallelism, cluster_flux_definition, submit_topology
from indexer.settings import IndexerSettings
from ingest.settings import IngestSettings
from ingest.topics import ensure_ingest_topics

TOPOLOGY_NAME = "ingest"


def local_stack_settings(
    stack: StackSettings, model_path: Path, **ingest: Any
) -> tuple[IngestSettings, IndexerSettings]:
    """Settings pointing at the local stack's ports; the model's version names the Milvus collection."""
    from embedder import Embedder  # torch: only where a model is loaded, not for `cbir stack down`

    embedder = Embedder.load(model_path)
    ingest_settings = IngestSettings(
        bootstrap_servers=stack.kafka_bootstrap(),
        model_path=model_path.resolve(),
        embedding_dim=embedder.dim,
        **ingest,
    )
    indexer_settings = IndexerSettings(
        milvus_uri=stack.milvus_uri(),
        solr_core_url=stack.solr_core_url(),
        model_version=embedder.version,
    )
    return ingest_settings, indexer_settings


def start_ingest_topology(
    stack: StackSettings, ingest: IngestSettings, indexer: IndexerSettings, duration_s: int, partitions: int = 1
) -> tuple[ProcessRecord, Path]:
    """Create the topics if missing and start LocalCluster with the topology; returns its process and log."""
    from topologies.ingest.topology import IngestTopology

    ensure_ingest_topics(ingest, partitions)
    return run_local_topology(stack, IngestTopology, TOPOLOGY_NAME, ingest.storm_config(indexer), duration_s)


def _pid_file(stack: StackSettings) -> PidFile:
    """Where a background topology of this run folder is recorded (so `cbir stack down` stops it too)."""
    return PidFile(stack.run_dir, f"topology-{TOPOLOGY_NAME}")


def background_topology(stack: StackSettings) -> ProcessRecord | None:
    """The background topology of this run folder, if one is running."""
    record = _pid_file(stack).read()
    return record if record is not None and record.is_alive() else None


def start_background_topology(
    stack: StackSettings, ingest: IngestSettings, indexer: IndexerSettings, duration_s: int, partitions: int = 1
) -> tuple[ProcessRecord, Path]:
    """Start the topology and record it in the run folder; it outlives this process until stopped."""
    record, log = start_ingest_topology(stack, ingest, indexer, duration_s, partitions)
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


def environment_settings(model_path: Path) -> tuple[IngestSettings, IndexerSettings]:
    """Settings from `CBIR_INGEST_*` and `CBIR_INDEXER_*` (a deployment), completed from the model checkpoint."""
    from embedder import Embedder

    embedder = Embedder.load(model_path)
    ingest = IngestSettings(model_path=model_path.resolve(), embedding_dim=embedder.dim)
    return ingest, IndexerSettings(model_version=embedder.version)


def submit_ingest_topology(
    stack: StackSettings,
    ingest: IngestSettings,
    indexer: IndexerSettings,
    nimbus: tuple[str, int],
    parallelism: Parallelism,
    partitions: int,
    replication: int = 1,
    name: str = TOPOLOGY_NAME,
) -> dict[str, int]:
    """Create the topics if missing and submit the topology to Nimbus; returns the executors per component."""
    from topologies.ingest.topology import IngestTopology

    ensure_ingest_topics(ingest, partitions, replication)
    executors = parallelism.by_component(partitions)
    definition = cluster_flux_definition(
        IngestTopology, name, ingest.storm_config(indexer), parallelism.workers, executors
    )
    submit_topology(stack, definition, nimbus, stack.service_dir("submit"))
    return executors
