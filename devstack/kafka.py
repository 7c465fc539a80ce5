"""A single-node Kafka broker in KRaft mode (combined broker and controller), from the cached jars."""

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from devstack.errors import ServiceStartFailed
from devstack.jvm import classpath, log4j2_option
from devstack.process import port_accepts
from devstack.service import Service
from devstack.settings import LOOPBACK, StackSettings
from ingest.topics import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)


def new_cluster_id() -> str:
    """A KRaft cluster id as `kafka-storage random-uuid` makes: url-safe base64 UUID, no leading '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def broker_properties(node_id: int, ports: list[int], controller_ports: list[int], data_dir: Path) -> str:
    """One KRaft node's configuration (broker and controller in one JVM); every node of `ports` votes.

    Internal topics are replicated to every node, up to 3, and need a majority in sync.
    """
    port, cport = ports[node_id - 1], controller_ports[node_id - 1]
    voters = ",".join(f"{n}@{LOOPBACK}:{c}" for n, c in enumerate(controller_ports, start=1))
    replication = min(len(ports), 3)
    min_isr = replication // 2 + 1 if replication > 1 else 1
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{cport}",
            f"advertised.listeners=PLAINTEXT://{LOOPBACK}:{port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            f"default.replication.factor={replication}",
            f"offsets.topic.replication.factor={replication}",
            f"transaction.state.log.replication.factor={replication}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replication}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            "group.initial.rebalance.delay.ms=0",
            f"message.max.bytes={MAX_MESSAGE_BYTES}",  # topics created on first use accept what the API does
            "",
        ]
    )


class KafkaService(Service):
    """One Kafka node (broker and controller in one JVM) listening on 127.0.0.1 only: the local stack's single
    node, or node `node_id` of the cluster's three (`kafka-1`, `kafka-2`, `kafka-3`)."""

    name = "kafka"

    def __init__(self, settings: StackSettings, node_id: int | None = None) -> None:
        self.node_id = node_id
        if node_id is None:
            self.broker_ports, self.controller_ports = [settings.kafka_port], [settings.kafka_controller_port]
        else:
            self.name = f"kafka-{node_id}"
            cluster = settings.cluster_ports
            self.broker_ports, self.controller_ports = cluster.kafka_brokers, cluster.kafka_controllers
        super().__init__(settings)

    @property
    def port(self) -> int:
        """This node's client (PLAINTEXT) port."""
        return self.broker_ports[(self.node_id or 1) - 1]

    def ports(self) -> dict[str, int]:
        if self.node_id is None:
            return {"kafka_port": self.port, "kafka_controller_port": self.settings.kafka_controller_port}
        controller = self.controller_ports[self.node_id - 1]
        return {f"cluster_base_port:{self.name}": self.port, f"cluster_base_port:{self.name}-controller": controller}

    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _properties(self) -> str:
        return broker_properties(self.node_id or 1, self.broker_ports, self.controller_ports, self.dir / "data")

    def _cluster_id(self) -> str:
        """The KRaft cluster id, shared by every node of this run (kept in the run folder)."""
        path = self.settings.run_dir.resolve() / "kafka-cluster-id"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def _java(self, main: str, *args: str) -> list[str]:
        """A java command line on the Kafka classpath."""
        s = self.settings
        return [s.java, *s.jvm_opts, log4j2_option(s), "-cp", classpath(s, "kafka"), main, *args]

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "server.properties").write_text(self._properties())
        if (self.dir / "data" / "meta.properties").is_file():
            return
        logger.info("Formatting Kafka storage in %s", self.dir / "data")
        storage_format = self._java(
            "kafka.tools.StorageTool", "format", "-t", self._cluster_id(),
            "-c", str(self.dir / "server.properties"), "--ignore-formatted",
        )  # fmt: skip
        try:
            result = subprocess.run(storage_format, capture_output=True, text=True, check=False)
        except OSError as error:
            raise ServiceStartFailed(f"cannot run {self.settings.java}: {error}") from error
        if result.returncode != 0:
            raise ServiceStartFailed(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def argv(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.dir / "server.properties"))

    def healthy(self) -> bool:
        if not port_accepts(LOOPBACK, self.port):  # fail fast: the client retries for long
            return False
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.address(), request_timeout_ms=3000)
        except KafkaError:
            return False
        try:
            admin.list_topics()
            return True
        except KafkaError:
            return False
        finally:
            admin.close()
