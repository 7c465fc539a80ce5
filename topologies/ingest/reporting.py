"""What every ingest component shares: its settings from the topology config, its counters, and how dead letters
and product statuses are written to Kafka."""

from typing import Any

from kafka import KafkaProducer

from ingest.counters import StageCounters
from ingest.dead_letter import DeadLetter
from ingest.status import ProductStatus
from settings import IngestSettings, Settings, StoreSettings
from topologies.ingest.storm_conf import settings_from_storm_conf

DEAD_LETTER_STREAM = "dead_letter"


def component_setup(storm_conf: dict[str, Any], context: dict[str, Any]) -> tuple[Settings, StageCounters]:
    """The component's settings and a fresh set of counters named after it."""
    settings = settings_from_storm_conf(storm_conf)
    counters = StageCounters(str(context.get("componentid", "component")), int(context.get("taskid", 0)),
                             settings.ingest.metrics_interval_s)  # fmt: skip
    return settings, counters


def report(counters: StageCounters, settings: IngestSettings, logger: Any, force: bool = False) -> None:
    """Log the counters and write them to the metrics folder, when due."""
    if not (force or counters.due()):
        return
    logger.info("counters %s", counters.snapshot())
    if settings.metrics_dir is not None:
        counters.write(settings.metrics_dir)


def is_first_task(context: dict[str, Any]) -> bool:
    """Whether this task has the lowest id of its component (the one that does a component's singleton work)."""
    component = context.get("componentid")
    tasks = [int(t) for t, c in context.get("task->component", {}).items() if c == component]
    return not tasks or int(context.get("taskid", 0)) == min(tasks)


def send_statuses(producer: KafkaProducer, settings: StoreSettings, statuses: list[ProductStatus]) -> None:
    """Write product statuses to the status topic and wait until Kafka has them all (KafkaError if not)."""
    futures = [producer.send(settings.status_topic, key=s.key(), value=s.encode()) for s in statuses]
    for future in futures:
        future.get(timeout=30)


def send_dead_letter(producer: KafkaProducer, settings: StoreSettings, letter: DeadLetter) -> None:
    """Write a dead letter, then its product's status, and wait until Kafka has both (KafkaError if not)."""
    producer.send(settings.dead_letter_topic, value=letter.encode()).get(timeout=30)
    status = ProductStatus.dead_lettered(letter)
    if status is not None:
        send_statuses(producer, settings, [status])
