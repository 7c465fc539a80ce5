"""The spout: reads Kafka with manual commits; a message's offset is committed once it and all before it are done."""

import time
from collections import deque
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from streamparse import Spout

from ingest.dead_letter import DeadLetter
from ingest.offsets import OffsetTracker
from topologies.ingest.reporting import component_setup, report


def tuple_id(partition: int, offset: int) -> str:
    """The Storm message id of a Kafka record."""
    return f"{partition}:{offset}"


def parse_tuple_id(tup_id: str) -> tuple[int, int]:
    """(partition, offset) of a tuple_id."""
    partition, offset = tup_id.split(":")
    return int(partition), int(offset)


class KafkaSpout(Spout):
    """Emits (product_id, message, source) with id `partition:offset`; replays failed ones, then dead-letters them."""

    outputs = ["product_id", "message", "source"]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, _, self.counters = component_setup(storm_conf, context)
        s = self.settings
        self.consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap_servers, group_id=s.consumer_group,
            enable_auto_commit=False, auto_offset_reset="earliest",
        )  # fmt: skip
        self.consumer.assign(self._my_partitions(context))
        self.producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers)
        self.tracker = OffsetTracker()
        self.buffered: deque[Any] = deque()
        self.emitted: dict[str, list[str]] = {}  # tuple id -> values, kept until done
        self.failures: dict[str, int] = {}
        self.replays: deque[str] = deque()
        self.last_commit = time.monotonic()

    def _my_partitions(self, context: dict[str, Any]) -> list[TopicPartition]:
        """This task's share of the topic's partitions (fixed assignment: no rebalances under Storm)."""
        tasks = sorted(int(t) for t, c in context.get("task->component", {}).items() if c == context["componentid"])
        index, count = (tasks.index(int(context["taskid"])), len(tasks)) if tasks else (0, 1)
        deadline = time.monotonic() + 30
        while (partitions := self.consumer.partitions_for_topic(self.settings.topic)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {self.settings.topic} does not exist")
            time.sleep(0.5)
        return [TopicPartition(self.settings.topic, p) for p in sorted(partitions) if p % count == index]

    def next_tuple(self) -> None:
        """Emit a replay, or as many buffered records as max_spout_pending allows (a call is a round trip)."""
        if self.replays:
            tup_id = self.replays.popleft()
            self.counters.add("retried")
            self.emit(self.emitted[tup_id], tup_id=tup_id)
        else:
            if not self.buffered:
                for records in self.consumer.poll(timeout_ms=50, max_records=100).values():
                    self.buffered.extend(records)
            room = max(self.settings.max_spout_pending - len(self.emitted), 1)  # Storm checks pending before calling
            for _ in range(min(room, len(self.buffered))):
                self._emit_record(self.buffered.popleft())
        self._commit()
        report(self.counters, self.settings, self.logger)

    def _emit_record(self, record: Any) -> None:
        tup_id = tuple_id(record.partition, record.offset)
        key = record.key.decode(errors="replace") if record.key else ""
        values = [key, record.value.decode(errors="replace"), f"{record.topic}/{record.partition}/{record.offset}"]
        self.tracker.emitted(record.partition, record.offset)
        self.emitted[tup_id] = values
        self.counters.add("emitted")
        self.emit(values, tup_id=tup_id)

    def ack(self, tup_id: str) -> None:
        self._done(tup_id)
        self.counters.add("acked")

    def fail(self, tup_id: str) -> None:
        """Replay, unless the message failed too often: then it goes to the dead-letter topic and counts as done."""
        self.failures[tup_id] = self.failures.get(tup_id, 0) + 1
        if self.failures[tup_id] <= self.settings.max_replays:
            self.replays.append(tup_id)
            return
        _, message, source = self.emitted[tup_id]
        reason = f"failed or timed out {self.failures[tup_id]} times"
        record = DeadLetter.of(message, "spout", reason, source=source)
        self.producer.send(self.settings.dead_letter_topic, value=record.encode()).get(timeout=30)
        self.counters.add("dead_lettered")
        self._done(tup_id)

    def _done(self, tup_id: str) -> None:
        self.tracker.done(*parse_tuple_id(tup_id))
        self.emitted.pop(tup_id, None)
        self.failures.pop(tup_id, None)
        self._commit()

    def _commit(self) -> None:
        """Commit the positions that moved, at most every commit_interval_s."""
        if time.monotonic() - self.last_commit < self.settings.commit_interval_s:
            return
        self.last_commit = time.monotonic()
        positions = self.tracker.to_commit()
        if positions:
            topic = self.settings.topic
            self.consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in positions.items()})
            self.tracker.committed(positions)
            self.counters.add("commits")
