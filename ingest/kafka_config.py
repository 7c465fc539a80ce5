"""The connection settings every Kafka client of the platform is built with (producers, consumers, admins)."""

from typing import Any

from settings import StoreSettings


def kafka_client_options(stores: StoreSettings) -> dict[str, Any]:
    """kafka-python's keyword arguments for reaching the brokers: bootstrap_servers and, when stores has SASL
    credentials, SASL_PLAINTEXT with its mechanism, user and password."""
    options: dict[str, Any] = {"bootstrap_servers": stores.kafka_bootstrap_servers}
    if stores.kafka_sasl_username and stores.kafka_sasl_password is not None:
        options |= {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": stores.kafka_sasl_mechanism,
            "sasl_plain_username": stores.kafka_sasl_username,
            "sasl_plain_password": stores.kafka_sasl_password.get_secret_value(),
        }
    return options
