"""Settings of the local stack, read from `CBIR_STACK_*` environment variables."""

import json
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


class StackSettings(BaseSettings):
    """Where the stack keeps its files, which ports it listens on, and how long it waits."""

    model_config = SettingsConfigDict(env_prefix="CBIR_STACK_")

    run_dir: Path = Path("run")
    deploy_dir: Path = REPO_ROOT / "deploy"
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    solr_port: int = Field(default=8983, ge=1, le=65535)
    milvus_port: int = Field(default=19530, ge=1, le=65535)
    solr_core: str = "catalog"
    java: str = "java"
    mvn: str = "mvn"
    # Small heaps and C1 only: quick start and little CPU, which suits tests and a laptop.
    jvm_opts: list[str] = ["-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0
    # `cbir stack up --cluster`: ZooKeeper, Nimbus, two Supervisors and three Kafka brokers instead of one broker,
    # on CLUSTER_PORT_COUNT consecutive ports from cluster_base_port (see ClusterPorts).
    cluster: bool = False
    cluster_base_port: int = Field(default=16700, ge=1, le=65535 - 32)
    slots_per_supervisor: int = Field(default=2, ge=1, le=4)
    worker_heap_mb: int = Field(default=512, ge=128)

    @property
    def cluster_ports(self) -> "ClusterPorts":
        """The ports of the cluster's daemons, laid out from cluster_base_port."""
        return ClusterPorts(self.cluster_base_port, self.slots_per_supervisor)

    def kafka_bootstrap(self) -> str:
        """Bootstrap servers of this stack's Kafka: one broker, or the cluster's three."""
        if self.cluster:
            return ",".join(f"{LOOPBACK}:{port}" for port in self.cluster_ports.kafka_brokers)
        return f"{LOOPBACK}:{self.kafka_port}"

    @property
    def cache_dir(self) -> Path:
        """Folder of the resolved JVM classpaths, one sub-folder per service."""
        return self.deploy_dir / "cache"

    @property
    def ports_file(self) -> Path:
        """Where `up` records the ports it used, so `status` and `down` find the same services."""
        return self.run_dir / "ports.json"

    def milvus_uri(self) -> str:
        """Where clients reach this stack's Milvus."""
        return f"http://{LOOPBACK}:{self.milvus_port}"

    def solr_core_url(self) -> str:
        """Where clients reach this stack's Solr catalog core."""
        return f"http://{LOOPBACK}:{self.solr_port}/solr/{self.solr_core}"

    def port_fields(self) -> dict[str, int]:
        """The port settings by name."""
        return {name: value for name, value in self.model_dump().items() if name.endswith("_port")}

    def save_ports(self) -> None:
        """Record the ports of this run, and whether it is a cluster, in the run folder."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ports_file.write_text(json.dumps({**self.port_fields(), "cluster": self.cluster}))

    def with_saved_ports(self) -> "StackSettings":
        """These settings with the ports recorded by the last `up` in the run folder, if any."""
        if not self.ports_file.is_file():
            return self
        return self.model_copy(update=json.loads(self.ports_file.read_text()))

    def service_dir(self, service: str) -> Path:
        """Folder of one service's data and generated configuration inside the run folder."""
        return self.run_dir.resolve() / service


SUPERVISORS = 2
KAFKA_BROKERS = 3


class ClusterPorts:
    """The cluster's ports in a row: ZooKeeper, Nimbus, the supervisors, the Kafka brokers and controllers,
    then each supervisor's worker slots."""

    def __init__(self, base: int, slots_per_supervisor: int) -> None:
        self.zookeeper = base
        self.nimbus = base + 1
        self.supervisors = [base + 2 + n for n in range(SUPERVISORS)]
        first_broker = base + 2 + SUPERVISORS
        self.kafka_brokers = [first_broker + n for n in range(KAFKA_BROKERS)]
        self.kafka_controllers = [first_broker + KAFKA_BROKERS + n for n in range(KAFKA_BROKERS)]
        first_slot = first_broker + 2 * KAFKA_BROKERS
        self.slots = [
            [first_slot + n * slots_per_supervisor + s for s in range(slots_per_supervisor)] for n in range(SUPERVISORS)
        ]

    def all(self) -> list[int]:
        """Every port of the cluster."""
        slots = [port for ports in self.slots for port in ports]
        return [self.zookeeper, self.nimbus, *self.supervisors, *self.kafka_brokers, *self.kafka_controllers, *slots]


@lru_cache
def get_stack_settings() -> StackSettings:
    """The settings read once from the environment."""
    return StackSettings()


def stack_settings_of(run_dir: Path | None) -> StackSettings:
    """The settings of the local stack running from run_dir (or CBIR_STACK_RUN_DIR): the ports its `up` recorded."""
    return (StackSettings() if run_dir is None else StackSettings(run_dir=run_dir)).with_saved_ports()
