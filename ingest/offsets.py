"""Which Kafka offsets may be committed: only those below the first offset not yet fully processed."""

import json
from dataclasses import dataclass, field

MAX_COUNTS = 200  # offsets with a count kept per partition: about 3 KB of JSON


@dataclass
class PartitionOffsets:
    """Offsets of one partition: in flight, and the position after the last one emitted and committed."""

    in_flight: set[int] = field(default_factory=set)
    next_offset: int | None = None
    committed: int | None = None

    def committable(self) -> int | None:
        """The offset to commit: the oldest one in flight, or the next one if every emitted one is done."""
        return min(self.in_flight) if self.in_flight else self.next_offset


class OffsetTracker:
    """Tracks emitted and acknowledged offsets per partition; an offset is committed only once all before it are."""

    def __init__(self) -> None:
        self.partitions: dict[int, PartitionOffsets] = {}

    def emitted(self, partition: int, offset: int) -> None:
        """A message left the spout."""
        state = self.partitions.setdefault(partition, PartitionOffsets())
        state.in_flight.add(offset)
        state.next_offset = max(offset + 1, state.next_offset or 0)

    def done(self, partition: int, offset: int) -> None:
        """A message was fully processed (acknowledged, or dead-lettered)."""
        self.partitions[partition].in_flight.discard(offset)

    def in_flight(self) -> int:
        """How many messages are out."""
        return sum(len(state.in_flight) for state in self.partitions.values())

    def to_commit(self) -> dict[int, int]:
        """Per partition, the offset to commit now, where it moved since the last commit."""
        positions = {}
        for partition, state in self.partitions.items():
            position = state.committable()
            if position is not None and position != state.committed:
                positions[partition] = position
        return positions

    def committed(self, positions: dict[int, int]) -> None:
        """Record that positions were committed."""
        for partition, position in positions.items():
            self.partitions[partition].committed = position


@dataclass
class PartitionAttempts:
    """How often each uncommitted message of a partition was emitted, in this life of the spout and before.

    Kept durably in Kafka's commit metadata: every commit of the partition's position carries this as JSON, and
    the spout commits before it emits, so a worker that dies mid-message leaves the count behind. Chosen over a
    compacted side topic: nothing more to create or read back, and the counts are stored atomically with the
    position they belong to (only offsets at or above it can come back). `emitted_to`: every offset below it was
    emitted at least once; `counts`: the offsets emitted more than once.
    """

    emitted_to: int = 0
    counts: dict[int, int] = field(default_factory=dict)

    def attempts(self, offset: int) -> int:
        """How many times offset was emitted so far."""
        return self.counts.get(offset, 1 if offset < self.emitted_to else 0)

    def emitted(self, offset: int) -> int:
        """Count one more emit of offset; returns its attempt number (1 for the first)."""
        attempt = self.attempts(offset) + 1
        if attempt > 1:
            self.counts[offset] = attempt
        self.emitted_to = max(self.emitted_to, offset + 1)
        return attempt

    def done(self, offset: int) -> None:
        """Forget the count of a message that completed (it is committed soon)."""
        self.counts.pop(offset, None)

    def metadata(self, position: int) -> str:
        """The JSON kept with the committed position (the most attempted offsets first, within Kafka's 4 KB)."""
        counts = sorted(((n, o) for o, n in self.counts.items() if o >= position), reverse=True)[:MAX_COUNTS]
        return json.dumps({"emitted_to": self.emitted_to, "counts": {str(o): n for n, o in counts}})

    @classmethod
    def from_metadata(cls, text: str | None) -> "PartitionAttempts":
        """The attempts kept with a committed position (none if there is no, or no valid, metadata)."""
        try:
            data = json.loads(text or "{}")
            return cls(int(data.get("emitted_to", 0)), {int(o): int(n) for o, n in data.get("counts", {}).items()})
        except (ValueError, TypeError, AttributeError):
            return cls()
