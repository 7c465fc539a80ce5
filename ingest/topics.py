"""Create the ingest topics if they are missing, and make them accept every message the publisher sends."""

import contextlib
import logging
import socket

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ingest.errors import KafkaUnavailable
from ingest.kafka_config import kafka_client_options
from settings import StoreSettings

logger = logging.getLogger(__name__)

# The largest record batch of one message: the producer's max_request_size, the topics' and the local brokers'
# max.message.bytes; the API refuses bigger messages with 413 (Kafka's default, 1 MB, refused inline photos).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
TOPIC_CONFIG = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
# A compacted topic keeps at least the latest record of each key (the status topic: one per product).
COMPACTED_CONFIG = {**TOPIC_CONFIG, "cleanup.policy": "compact"}


def ensure_ingest_topics(settings: StoreSettings, partitions: int, replication: int = 1) -> list[str]:
    """The ingest topics: messages (partitions), dead letters (1) and statuses (1, compacted); returns those created."""
    counts = {settings.topic: partitions, settings.dead_letter_topic: 1, settings.status_topic: 1}
    return ensure_topics(settings, counts, replication, compacted={settings.status_topic})


def ensure_topics(
    stores: StoreSettings, partitions: dict[str, int], replication: int = 1, compacted: set[str] | None = None
) -> list[str]:
    """Create each topic (name -> partition count) that does not exist, set TOPIC_CONFIG on all of them (and
    COMPACTED_CONFIG on those compacted); returns those created."""
    compacted = compacted or set()
    config = {name: COMPACTED_CONFIG if name in compacted else TOPIC_CONFIG for name in partitions}
    bootstrap_servers = stores.kafka_bootstrap_servers
    try:
        admin = KafkaAdminClient(**kafka_client_options(stores), request_timeout_ms=10_000)
    except KafkaError as error:
        raise KafkaUnavailable(f"no Kafka broker answers at {bootstrap_servers}") from error
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, count, replication, topic_configs=config[name])
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
            logger.info("Created Kafka topics %s", [t.name for t in missing])
        # Only the topics that existed before: a new one has its config from creation, and another broker of a
        # cluster may not know it yet (kafka-python's check of the config names then failed with ValueError).
        _set_configs(admin, {name: config[name] for name in partitions if name in existing})
        return [t.name for t in missing]
    except KafkaError as error:
        raise KafkaUnavailable(f"cannot create topics at {bootstrap_servers}: {error}") from error
    finally:
        admin.close()


def _set_configs(admin: KafkaAdminClient, configs: dict[str, dict[str, str]]) -> None:
    """Set these configs on existing topics (name -> config); raise KafkaError where a broker refuses one."""
    if not configs:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, dict(config)) for name, config in configs.items()]
    # raise_on_unknown=False: the client's own check of the names asks one broker for the topic's configs first.
    results = admin.alter_configs(resources, raise_on_unknown=False).get("topic", {})
    refused = {name: result for name, result in results.items() if result != "OK"}
    if refused:
        raise KafkaError(f"the broker refused the topic configs {refused}")


def kafka_problem(bootstrap_servers: str, timeout_s: float = 1.0) -> str:
    """'' if a TCP connection to one of the bootstrap servers opens, else why none did: the readiness probe."""
    problems = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout_s):
                return ""
        except (OSError, ValueError) as error:
            problems.append(f"{server}: {error}")
    return "; ".join(problems)
