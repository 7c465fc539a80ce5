"""The one place Kafka clients get their connection settings: SASL only when credentials are set."""

import re
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from ingest.kafka_config import kafka_client_options
from settings import StoreSettings


def test_without_credentials_clients_connect_in_plaintext() -> None:
    assert kafka_client_options(StoreSettings(kafka_bootstrap_servers="kafka:9092")) == {
        "bootstrap_servers": "kafka:9092"
    }


def test_with_credentials_clients_use_sasl() -> None:
    stores = StoreSettings(
        kafka_bootstrap_servers="kafka:9092", kafka_sasl_username="cbir", kafka_sasl_password="secret",  # type: ignore[arg-type]
        kafka_sasl_mechanism="SCRAM-SHA-512",
    )  # fmt: skip
    assert kafka_client_options(stores) == {
        "bootstrap_servers": "kafka:9092",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "cbir",
        "sasl_plain_password": "secret",
    }


def test_every_kafka_client_accepts_the_options() -> None:
    """kafka-python validates its configuration keys: a misspelt option fails here, not in production."""
    options = kafka_client_options(
        StoreSettings(kafka_sasl_username="cbir", kafka_sasl_password="secret")  # type: ignore[arg-type]
    )
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        unknown = set(options) - set(client.DEFAULT_CONFIG)
        assert not unknown, (client.__name__, unknown)


def test_every_kafka_client_of_the_packages_is_built_with_the_options() -> None:
    """No client in the deployed packages connects without the credentials (the local stack and tests may)."""
    root = Path(__file__).resolve().parents[2]
    calls = re.compile(r"(KafkaProducer|KafkaConsumer|KafkaAdminClient)\(([^)]*)")
    found = []
    for package in ("api", "cbir", "indexer", "ingest", "topologies", "bench"):
        for path in sorted((root / package).rglob("*.py")):
            for match in calls.finditer(path.read_text()):
                found.append(path.relative_to(root))
                assert match.group(2).lstrip().startswith("**kafka_client_options("), (path, match.group(0))
    assert len(found) >= 10
