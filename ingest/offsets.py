"""Which Kafka offsets may be committed: only those below the first offset not yet fully processed."""

from dataclasses import dataclass, field


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
