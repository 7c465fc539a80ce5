"""Run a streamparse topology in Storm's LocalCluster through Flux, as `storm local` does, without its CLI."""

import sys
from pathlib import Path
from typing import Any

import yaml

from devstack.jvm import classpath, log4j2_option, topology_jar
from devstack.process import ProcessRecord, spawn
from devstack.settings import StackSettings
from topologies.storm.multilang import python_serializer

FLUX_MAIN = "org.apache.storm.flux.Flux"
LOCAL_CLUSTER_MAIN = "org.apache.storm.LocalCluster"


def streamparse_run_path() -> str:
    """This virtualenv's `streamparse_run`: shell components must not depend on Storm's working directory."""
    return str(Path(sys.executable).parent / "streamparse_run")


def flux_definition(topology: Any, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The Flux YAML of a streamparse Topology class; Python components run by this venv's streamparse_run, with
    the multilang serializer the config names."""
    definition: dict[str, Any] = topology.to_flux_dict(name)
    serializer = python_serializer(config)
    for component in [*definition.get("spouts", []), *definition.get("bolts", [])]:
        command = component["constructorArgs"][0]
        if command[0] == "streamparse_run":
            command[0:] = [streamparse_run_path(), *command[1:], "--serializer", serializer]
    definition["config"] = {"topology.workers": 1, "topology.debug": False, **config}
    return definition


def run_local_topology(
    settings: StackSettings, topology: Any, name: str, config: dict[str, Any], duration_s: int
) -> tuple[ProcessRecord, Path]:
    """Start LocalCluster with the topology for duration_s seconds; returns its process and log file."""
    storm_dir = settings.service_dir("storm")
    storm_dir.mkdir(parents=True, exist_ok=True)
    flux_file = storm_dir / f"{name}.yaml"
    flux_file.write_text(yaml.safe_dump(flux_definition(topology, name, config), sort_keys=False))
    # LocalCluster submits through Flux, which insists on a topology jar; ours also holds the msgpack serializer.
    jar = topology_jar(settings)
    argv = [
        settings.java, *settings.jvm_opts, log4j2_option(settings),
        f"-Dstorm.local.sleeptime={duration_s}", f"-Dstorm.jar={jar}",
        "-cp", f"{classpath(settings, 'storm')}:{jar}", LOCAL_CLUSTER_MAIN, FLUX_MAIN, str(flux_file),
    ]  # fmt: skip
    log_path = settings.run_dir.resolve() / "logs" / f"storm-{name}.log"
    return spawn(argv, log_path, cwd=storm_dir), log_path
