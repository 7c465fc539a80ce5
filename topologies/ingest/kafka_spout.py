"""The spout: reads Kafka with manual commits; a message's offset is committed once it and all before it are done.

Nothing a crawler publishes may stop it. A record without a value, a batch it cannot decode, and a message that
failed, timed out or was in flight when a worker died too often are dead-lettered with a reason. Attempts are
counted durably (ingest.offsets.PartitionAttempts, in the commit metadata), and a message that was in flight when
a previous worker died is emitted alone, so only a message that kills workers sees its count grow.

Nor may a broker that restarts stop it: what needs Kafka (a commit, a dead letter) is tried again once Kafka
answers, and nothing is marked done before its dead letter is written.
"""

import heapq
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CorruptRecordError, KafkaError, UnsupportedCodecError
from kafka.structs import OffsetAndMetadata
from streamparse import Spout

from ingest.dead_letter import DeadLetter
from ingest.kafka_config import kafka_client_options
from ingest.offsets import OffsetTracker, PartitionAttempts
from settings import StoreSettings
from topologies.ingest.reporting import component_setup, report, send_dead_letter

MAX_BACKOFF_S = 60.0
KAFKA_AWAY_PAUSE_S = 0.5  # how long next_tuple waits when the broker does not answer
PROBE_TIMEOUT_MS = 500
PROBE_POLLS = 4
UNDECODABLE = (UnsupportedCodecError, CorruptRecordError)


def tuple_id(partition: int, offset: int) -> str:
    """The Storm message id of a Kafka record."""
    return f"{partition}:{offset}"


def parse_tuple_id(tup_id: str) -> tuple[int, int]:
    """(partition, offset) of a tuple_id."""
    partition, offset = tup_id.split(":")
    return int(partition), int(offset)


def task_share(partitions: set[int], context: dict[str, Any]) -> list[int]:
    """This spout task's share of the partitions (fixed assignment: no rebalances under Storm)."""
    tasks = sorted(int(t) for t, c in context.get("task->component", {}).items() if c == context["componentid"])
    index, count = (tasks.index(int(context["taskid"])), len(tasks)) if tasks else (0, 1)
    return [p for p in sorted(partitions) if p % count == index]


def poll_records(consumer: KafkaConsumer, max_records: int) -> list[ConsumerRecord]:
    """The next records of every assigned partition, in one list."""
    batches = consumer.poll(timeout_ms=50, max_records=max_records).values()
    return [record for records in batches for record in records]


@dataclass(frozen=True)
class SkippedBatch:
    """Offsets [first, end) of a partition skipped because their record batch could not be decoded."""

    tp: TopicPartition
    first: int
    end: int
    error: str

    def reason(self) -> str:
        """The dead letter's reason."""
        where = f"{self.tp.topic}/{self.tp.partition} offsets {self.first}..{self.end - 1}"
        return f"undecodable record batch at {where}: {self.error}"


def poll_skipping_undecodable(
    consumer: KafkaConsumer, max_records: int, stores: StoreSettings
) -> tuple[list[ConsumerRecord], SkippedBatch | None]:
    """The next records; if a batch cannot be decoded (codec missing, corrupt), nothing, and the batch skipped.

    The consumer is not polled at the failed position again (kafka-python then spins on the exhausted batch):
    a probe consumer finds the batch's partition and end, and the consumer seeks past it.
    """
    try:
        return poll_records(consumer, max_records), None
    except UNDECODABLE as error:
        probe = KafkaConsumer(**kafka_client_options(stores), group_id=None, enable_auto_commit=False)
        try:
            for tp in sorted(consumer.assignment()):
                first = consumer.position(tp)
                if _undecodable_at(probe, tp, first):
                    end = _end_of_undecodable(probe, tp, first)
                    consumer.seek(tp, end)
                    return [], SkippedBatch(tp, first, end, repr(error))
        finally:
            probe.close()
        raise


def _undecodable_at(probe: KafkaConsumer, tp: TopicPartition, offset: int) -> bool:
    """Whether the batch holding offset cannot be decoded (read with the probe consumer)."""
    probe.assign([tp])
    probe.seek(tp, offset)
    try:
        for _ in range(PROBE_POLLS):
            if probe.poll(timeout_ms=PROBE_TIMEOUT_MS, max_records=1):
                return False
    except UNDECODABLE:
        return True
    return False


def _end_of_undecodable(probe: KafkaConsumer, tp: TopicPartition, first: int) -> int:
    """The first offset after first that can be read (or the end of the partition)."""
    end = probe.end_offsets([tp])[tp]
    for offset in range(first + 1, end):
        if not _undecodable_at(probe, tp, offset):
            return offset
    return end


class KafkaSpout(Spout):
    """Emits (product_id, message, source, attempt, published_at) with id `partition:offset`; replays failed ones
    with backoff, then dead-letters them. published_at is the record's Kafka timestamp (ms since the epoch, or -1)."""

    outputs = ["product_id", "message", "source", "attempt", "published_at"]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, self.counters = component_setup(storm_conf, context)
        s, stores = self.settings.ingest, self.settings.stores
        self.consumer = KafkaConsumer(
            **kafka_client_options(stores), group_id=s.consumer_group, enable_auto_commit=False,
            auto_offset_reset="earliest", metadata_max_age_ms=int(1000 * s.partition_check_interval_s),
        )  # fmt: skip
        self.producer = KafkaProducer(**kafka_client_options(stores))
        self.context = context
        self.tracker = OffsetTracker()
        self.attempts: dict[int, PartitionAttempts] = {}
        self.positions: dict[int, int] = {}  # the last committed position of each partition
        self.buffered: deque[ConsumerRecord] = deque()
        self.emitted: dict[str, list[Any]] = {}  # tuple id -> values, kept until done
        self.suspects: set[str] = set()  # in flight, and in flight before when a worker died
        self.replays: list[tuple[float, str]] = []  # heap of (due time, tuple id)
        self.undelivered: list[str] = []  # failed too often, their dead letters not yet written (Kafka was away)
        self.last_commit = self.partitions_checked = time.monotonic()
        self._assign(self._wait_for_partitions())

    def _wait_for_partitions(self) -> set[int]:
        """The topic's partitions, once it exists."""
        deadline = time.monotonic() + 30
        while (partitions := self.consumer.partitions_for_topic(self.settings.stores.topic)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {self.settings.stores.topic} does not exist")
            time.sleep(0.5)
        return set(partitions)

    def _assign(self, partitions: set[int]) -> None:
        """Read this task's share of partitions too, from their committed positions and attempt counts."""
        new = [p for p in task_share(partitions, self.context) if p not in self.attempts]
        if not new:
            return
        topic = self.settings.stores.topic
        self.consumer.assign([TopicPartition(topic, p) for p in [*self.attempts, *new]])
        for p in new:
            tp = TopicPartition(topic, p)
            committed = self.consumer.committed(tp, metadata=True)
            self.attempts[p] = PartitionAttempts.from_metadata(committed.metadata if committed else None)
            self.positions[p] = committed.offset if committed else self.consumer.position(tp)
        self.logger.info("reading partitions %s of %s", new, topic)

    def next_tuple(self) -> None:
        """Emit a due replay, or what max_spout_pending allows of the buffered records (a call is a round trip)."""
        try:
            self._write_undelivered()
            if self.replays and self.replays[0][0] <= time.monotonic():
                self._replay(heapq.heappop(self.replays)[1])
            else:
                self._emit_buffered()
            self._commit()
            if time.monotonic() - self.partitions_checked > self.settings.ingest.partition_check_interval_s:
                self.partitions_checked = time.monotonic()
                self._assign(set(self.consumer.partitions_for_topic(self.settings.stores.topic) or ()))
        except KafkaError as error:  # the broker is away: every step above can be taken again
            self.logger.warning("Kafka does not answer (%r); trying again", error)
            self.counters.add("kafka_unavailable")
            time.sleep(KAFKA_AWAY_PAUSE_S)
        report(self.counters, self.settings.ingest, self.logger)

    def _emit_buffered(self) -> None:
        """Emit buffered records; one that was in flight when a worker died goes out alone."""
        if not self.buffered:
            self.buffered.extend(self._poll())
        if self.suspects:
            return
        ready: list[tuple[ConsumerRecord, bool]] = []
        room = max(self.settings.ingest.max_spout_pending - len(self.emitted), 1)  # Storm checks pending before calling
        while self.buffered and len(ready) < room:
            record = self.buffered[0]
            prior = self.attempts[record.partition].attempts(record.offset)
            if 0 < prior <= self.settings.ingest.max_replays and (ready or self.emitted):
                break  # a suspect waits until nothing else is in flight
            if self._must_refuse(record, prior):
                self._refuse(record, prior)  # raises KafkaError, the record still buffered, if Kafka is away
                self.buffered.popleft()
                continue
            self.buffered.popleft()
            ready.append((record, prior > 0))
            if prior > 0:
                break
        self._emit_records(ready)

    def _poll(self) -> list[ConsumerRecord]:
        """The next records; a batch that cannot be decoded is dead-lettered and skipped."""
        records, skipped = poll_skipping_undecodable(self.consumer, 100, self.settings.stores)
        if skipped is not None:
            try:
                self._dead_letter(b"", skipped.reason(), f"{skipped.tp.topic}/{skipped.tp.partition}/{skipped.first}")
            except KafkaError:
                self.consumer.seek(skipped.tp, skipped.first)  # found again, and dead-lettered, once Kafka answers
                raise
            self.tracker.emitted(skipped.tp.partition, skipped.end - 1)
            self.tracker.done(skipped.tp.partition, skipped.end - 1)
            self._commit(now=True)
        return records

    def _must_refuse(self, record: ConsumerRecord, prior: int) -> bool:
        """Whether a record has no value, or was already attempted too often."""
        return record.value is None or prior > self.settings.ingest.max_replays

    def _refuse(self, record: ConsumerRecord, prior: int) -> None:
        """Dead-letter a record without a value, or one already attempted too often."""
        reason = (
            f"record keyed {record.key!r} has no value (null): a crawler deletes a product with an op=delete message"
            if record.value is None
            else f"emitted {prior} times without completing: each time it failed, timed out or its worker died"
        )
        self._dead_letter(record.value or b"", reason, f"{record.topic}/{record.partition}/{record.offset}")
        self.tracker.emitted(record.partition, record.offset)
        self.tracker.done(record.partition, record.offset)
        self.attempts[record.partition].done(record.offset)
        self._commit(now=True)  # so that a restart does not dead-letter it again

    def _emit_records(self, ready: list[tuple[ConsumerRecord, bool]]) -> None:
        """Count the attempts durably, then emit."""
        if not ready:
            return
        attempts = [self.attempts[r.partition].emitted(r.offset) for r, _ in ready]
        self._commit(now=True)
        for (record, suspect), attempt in zip(ready, attempts, strict=True):
            tup_id = tuple_id(record.partition, record.offset)
            key = record.key.decode(errors="replace") if record.key else ""
            source = f"{record.topic}/{record.partition}/{record.offset}"
            self.emitted[tup_id] = [key, record.value.decode(errors="replace"), source, attempt, record.timestamp]
            self.tracker.emitted(record.partition, record.offset)
            if suspect:
                self.suspects.add(tup_id)
            self.counters.add("emitted")
            self.emit(self.emitted[tup_id], tup_id=tup_id)

    def _replay(self, tup_id: str) -> None:
        """Emit a failed message again, its attempt counted durably first."""
        values = self.emitted[tup_id]
        values[3] = self.attempts[parse_tuple_id(tup_id)[0]].emitted(parse_tuple_id(tup_id)[1])
        self._commit(now=True)
        self.counters.add("retried")
        self.emit(values, tup_id=tup_id)

    def ack(self, tup_id: str) -> None:
        self._done(tup_id)
        self.counters.add("acked")

    def fail(self, tup_id: str) -> None:
        """Replay after a backoff, unless the message was tried too often: then dead-letter it, and it is done."""
        attempt = self.emitted[tup_id][3]
        if attempt <= self.settings.ingest.max_replays:
            delay = min(self.settings.ingest.retry_backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
            heapq.heappush(self.replays, (time.monotonic() + delay, tup_id))
            return
        self.undelivered.append(tup_id)
        try:
            self._write_undelivered()
        except KafkaError as error:
            self.logger.warning("dead letter of %s not written (%r); trying again", tup_id, error)

    def _write_undelivered(self) -> None:
        """Dead-letter the messages that failed too often, each done once Kafka has its dead letter."""
        while self.undelivered:
            tup_id = self.undelivered[0]
            _, message, source, attempt, _ = self.emitted[tup_id]
            self._dead_letter(message, f"failed or timed out {attempt} times (the bolts' logs say why)", source)
            self.undelivered.pop(0)
            self._done(tup_id)

    def _dead_letter(self, message: bytes | str, reason: str, source: str) -> None:
        """Write a spout-stage dead letter (and its product's status) and wait until Kafka has it."""
        send_dead_letter(self.producer, self.settings.stores, DeadLetter.of(message, "spout", reason, source=source))
        self.counters.add("dead_lettered")

    def _done(self, tup_id: str) -> None:
        partition, offset = parse_tuple_id(tup_id)
        self.tracker.done(partition, offset)
        self.attempts[partition].done(offset)
        self.emitted.pop(tup_id, None)
        self.suspects.discard(tup_id)
        self._commit()

    def _commit(self, now: bool = False) -> None:
        """Commit every partition's position with its attempt counts: now, or when due and a position moved."""
        if not now and (time.monotonic() - self.last_commit < self.settings.ingest.commit_interval_s):
            return
        moved = self.tracker.to_commit()
        if not (now or moved):
            return
        self.last_commit = time.monotonic()
        self.positions.update(moved)
        topic = self.settings.stores.topic
        try:
            self.consumer.commit({
                TopicPartition(topic, p): OffsetAndMetadata(position, self.attempts[p].metadata(position), -1)
                for p, position in self.positions.items()
            })  # fmt: skip
        except KafkaError as error:  # the next commit carries these positions too
            self.logger.warning("commit failed (%r); the next one carries it", error)
            self.counters.add("commit_failed")
            return
        self.tracker.committed(moved)
        self.counters.add("commits")
