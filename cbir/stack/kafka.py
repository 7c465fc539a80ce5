"""A single-node Kafka broker in KRaft mode (combined broker and controller), from the cached jars."""

import base64
import logging
import subprocess
import uuid

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from cbir.stack.errors import ServiceStartFailed
from cbir.stack.jvm import classpath, log4j2_option
from cbir.stack.process import port_accepts
from cbir.stack.service import Service
from cbir.stack.settings import LOOPBACK

logger = logging.getLogger(__name__)


def new_cluster_id() -> str:
    """A KRaft cluster id as `kafka-storage random-uuid` makes: url-safe base64 UUID, no leading '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaService(Service):
    """Kafka broker and controller in one JVM, listening on 127.0.0.1 only."""

    name = "kafka"

    def ports(self) -> dict[str, int]:
        return {
            "kafka_port": self.settings.kafka_port,
            "kafka_controller_port": self.settings.kafka_controller_port,
        }

    def address(self) -> str:
        return f"{LOOPBACK}:{self.settings.kafka_port}"

    def _properties(self) -> str:
        """The broker configuration: one node, replication factor 1, no rebalance delay."""
        port, cport = self.settings.kafka_port, self.settings.kafka_controller_port
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{LOOPBACK}:{cport}",
                f"listeners=PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{cport}",
                f"advertised.listeners=PLAINTEXT://{LOOPBACK}:{port}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.dir / 'data'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "",
            ]
        )

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
            "kafka.tools.StorageTool", "format", "-t", new_cluster_id(),
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
        if not port_accepts(LOOPBACK, self.settings.kafka_port):  # fail fast: the client retries for long
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
