"""Create the ingest topics if they are missing."""

import contextlib
import logging

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ingest.errors import KafkaUnavailable

logger = logging.getLogger(__name__)


def ensure_topics(bootstrap_servers: str, partitions: dict[str, int], replication: int = 1) -> list[str]:
    """Create each topic (name -> partition count) that does not exist; returns those created."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    except KafkaError as error:
        raise KafkaUnavailable(f"no Kafka broker answers at {bootstrap_servers}") from error
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, count, replication) for name, count in partitions.items() if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
            logger.info("Created Kafka topics %s", [t.name for t in missing])
        return [t.name for t in missing]
    except KafkaError as error:
        raise KafkaUnavailable(f"cannot create topics at {bootstrap_servers}: {error}") from error
    finally:
        admin.close()
