"""Submit a streamparse topology to a Nimbus through Flux's `--remote` (Nimbus's Thrift API), with the Maven-built
topology jar; the Python components run from this virtualenv, so workers must run on a machine that has it."""

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.errors import StackError
from devstack.jvm import classpath, log4j2_option, topology_jar
from devstack.settings import StackSettings
from topologies.storm.local_cluster import FLUX_MAIN, flux_definition

logger = logging.getLogger(__name__)

MAX_SPOUT_TASKS = 4  # a spout task per Kafka partition, up to this many


class SubmitFailed(StackError):
    """Flux could not submit the topology (Nimbus down, name taken, invalid topology)."""


@dataclass(frozen=True)
class Parallelism:
    """Workers and executors per component; spout None means one task per Kafka partition (up to 4)."""

    workers: int = 2
    spout: int | None = None
    fetch: int = 2
    embed: int = 2
    index: int = 2
    dead_letter: int = 1

    def by_component(self, partitions: int) -> dict[str, int]:
        """Executors of each component of the ingest topology, for a topic of `partitions` partitions."""
        spout = self.spout if self.spout is not None else max(1, min(partitions, MAX_SPOUT_TASKS))
        return {
            "kafka_spout": spout,
            "fetch_bolt": self.fetch,
            "embed_bolt": self.embed,
            "index_bolt": self.index,
            "dead_letter_bolt": self.dead_letter,
        }


def cluster_flux_definition(
    topology: Any, name: str, config: dict[str, Any], workers: int, executors: dict[str, int]
) -> dict[str, Any]:
    """The Flux definition of a streamparse topology with the given workers and executors per component."""
    definition = flux_definition(topology, name, {**config, "topology.workers": workers})
    for component in [*definition.get("spouts", []), *definition.get("bolts", [])]:
        component["parallelism"] = executors.get(component["id"], component.get("parallelism", 1))
    return definition


def client_config(host: str, port: int) -> dict[str, Any]:
    """The storm.yaml of the submitting client: where Nimbus's Thrift API is."""
    return {"nimbus.seeds": [host], "nimbus.thrift.port": port}


def submit_argv(settings: StackSettings, flux_file: Path, conf_file: Path) -> list[str]:
    """`java ... org.apache.storm.flux.Flux --remote FILE`, uploading the topology jar (`-Dstorm.jar`)."""
    jar = topology_jar(settings)
    return [
        settings.java, *settings.jvm_opts, log4j2_option(settings),
        f"-Dstorm.jar={jar}", f"-Dstorm.conf.file={conf_file}",
        "-cp", f"{classpath(settings, 'storm')}:{jar}", FLUX_MAIN, "--remote", str(flux_file),
    ]  # fmt: skip


def submit_topology(settings: StackSettings, definition: dict[str, Any], nimbus: tuple[str, int], folder: Path) -> None:
    """Write the Flux YAML and the client config into folder, and submit; SubmitFailed with Flux's output."""
    if not topology_jar(settings).is_file():
        raise SubmitFailed(f"no topology jar at {topology_jar(settings)}: run `cbir stack deps` first")
    folder.mkdir(parents=True, exist_ok=True)
    flux_file, conf_file = folder / f"{definition['name']}.yaml", folder / "storm-client.yaml"
    flux_file.write_text(yaml.safe_dump(definition, sort_keys=False))
    conf_file.write_text(yaml.safe_dump(client_config(*nimbus)))
    logger.info("Submitting %s to Nimbus %s:%d (Flux YAML %s)", definition["name"], *nimbus, flux_file)
    result = subprocess.run(
        submit_argv(settings, flux_file, conf_file), capture_output=True, text=True, check=False, timeout=300
    )
    if result.returncode != 0 or "Finished submitting topology" not in result.stdout + result.stderr:
        output = (result.stdout + result.stderr)[-4000:]
        raise SubmitFailed(f"Flux did not submit {definition['name']} (exit {result.returncode}):\n{output}")
