"""Dead letters: writes every rejected record to the dead-letter topic, and its product's status; acks once Kafka
has both."""

from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from streamparse import Bolt, Tuple

from ingest.dead_letter import DeadLetter
from ingest.kafka_config import kafka_client_options
from topologies.ingest.reporting import component_setup, report, send_dead_letter


class DeadLetterBolt(Bolt):
    """Produces each DeadLetter (JSON) to the dead-letter topic and a `dead_lettered` status to the status topic,
    waiting for Kafka's confirmation."""

    outputs: list[str] = []
    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, self.counters = component_setup(storm_conf, context)
        self.producer = KafkaProducer(**kafka_client_options(self.settings.stores))

    def process_tick(self, tup: Tuple) -> None:
        report(self.counters, self.settings.ingest, self.logger)

    def process(self, tup: Tuple) -> None:
        try:
            send_dead_letter(self.producer, self.settings.stores, DeadLetter.model_validate_json(tup.values[0]))
        except KafkaError as error:
            self.logger.warning("dead letter not written (%s); failing it for a replay", error)
            self.fail(tup)
            return
        self.counters.add("dead_lettered")
        self.ack(tup)
