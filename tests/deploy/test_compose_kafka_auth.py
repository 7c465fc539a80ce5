"""docker-compose's Kafka security on a real broker: the compose service's own broker settings (its KAFKA_*
environment, mapped to properties as the apache/kafka image maps them), with only the addresses moved to loopback.
The platform's clients (`ingest.kafka_config.kafka_client_options`) create the topics, publish and read with the
`.env` user; no credentials, or a wrong password, get nothing."""

import json
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.errors import KafkaError
from pydantic import SecretStr

from devstack.kafka import KafkaService
from devstack.process import spawn, stop_session, wait_until
from devstack.settings import LOOPBACK, StackSettings
from ingest.kafka_config import kafka_client_options
from ingest.message import parse_message
from ingest.publisher import CatalogPublisher
from ingest.topics import ensure_ingest_topics
from settings import StoreSettings
from tests.deploy.test_compose import environment, services
from tests.ingest.test_message import upsert_fields
from tests.integration_fixtures import free_ports

pytestmark = pytest.mark.integration
CLIENT_USER = "cbir"
CLIENT_PASSWORD = "change-me-to-a-long-random-string"  # KAFKA_CLIENT_PASSWORD of .env.example
NOT_PROPERTIES = {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS"}  # JVM options


def image_properties(env: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's rule: KAFKA_A_B=v is the property a.b=v ('___' is '-', '__' is '_')."""
    properties = {}
    for name, value in env.items():
        if name.startswith("KAFKA_") and name not in NOT_PROPERTIES:
            key = name.removeprefix("KAFKA_").lower().replace("___", "-").replace("__", "\0").replace("_", ".")
            properties[key.replace("\0", "_")] = str(value)
    return properties


class ComposeKafka(KafkaService):
    """A broker configured as docker-compose's `kafka` service, its listeners on loopback ports."""

    def _properties(self) -> str:
        properties = image_properties(environment(services()["kafka"]))
        port, controller = self.broker_ports[0], self.controller_ports[0]
        properties |= {
            "listeners": f"INTERNAL://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller}",
            "advertised.listeners": f"INTERNAL://{LOOPBACK}:{port}",
            "controller.quorum.voters": f"1@{LOOPBACK}:{controller}",
            "log.dirs": str(self.dir / "data"),
        }
        return "".join(f"{key}={value}\n" for key, value in properties.items())

    def stores(self, password: str = CLIENT_PASSWORD) -> StoreSettings:
        return StoreSettings(
            kafka_bootstrap_servers=self.address(), kafka_sasl_username=CLIENT_USER,
            kafka_sasl_password=SecretStr(password), topic="images", status_topic="images.status",
        )  # fmt: skip

    def healthy(self) -> bool:
        try:
            admin = KafkaAdminClient(**kafka_client_options(self.stores()), request_timeout_ms=3000)
        except KafkaError:
            return False
        try:
            admin.list_topics()
            return True
        except KafkaError:
            return False
        finally:
            admin.close()


@pytest.fixture(scope="module")
def compose_kafka(jvm_deps: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeKafka]:
    kafka_port, controller_port = free_ports(2)
    settings = jvm_deps.model_copy(
        update={
            "run_dir": tmp_path_factory.mktemp("compose-kafka"),
            "kafka_port": kafka_port,
            "kafka_controller_port": controller_port,
        }
    )
    kafka = ComposeKafka(settings)
    kafka.prepare()
    record = spawn(kafka.argv(), kafka.log_path, cwd=kafka.dir)
    try:
        wait_until(kafka.healthy, record, settings.start_timeout_s, "compose kafka", kafka.log_path)
        yield kafka
    finally:
        stop_session(record, settings.stop_timeout_s)


def test_the_platform_user_creates_topics_publishes_and_reads(compose_kafka: ComposeKafka) -> None:
    stores = compose_kafka.stores()
    assert set(ensure_ingest_topics(stores, partitions=2)) == {"images", "images.dlq", "images.status"}
    publisher = CatalogPublisher(stores)
    message = parse_message(json.dumps(upsert_fields()))
    publisher.publish(message)
    publisher.flush(timeout_s=30)
    publisher.close(timeout_s=5)
    consumer = KafkaConsumer(
        "images", **kafka_client_options(stores), auto_offset_reset="earliest", group_id="compose-auth",
        consumer_timeout_ms=20_000,
    )  # fmt: skip
    try:
        record = next(iter(consumer))
    finally:
        consumer.close()
    assert record.key == message.product_id.encode()


@pytest.mark.parametrize("password", [None, "wrong-password"])
def test_no_credentials_or_a_wrong_password_get_nothing(compose_kafka: ComposeKafka, password: str | None) -> None:
    options = kafka_client_options(compose_kafka.stores(password or "x"))
    if password is None:
        options = {"bootstrap_servers": options["bootstrap_servers"]}  # PLAINTEXT against a SASL listener
    with pytest.raises(KafkaError):
        KafkaAdminClient(**options, request_timeout_ms=3000, api_version_auto_timeout_ms=3000).list_topics()
