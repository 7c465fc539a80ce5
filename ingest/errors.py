"""Domain errors of the ingest path, raised where the problem is found."""


class IngestError(Exception):
    """Base class of the ingest path's errors."""


class RecordRejected(IngestError):
    """A record can never be ingested (bad JSON, missing field, bad image): it goes to the dead-letter topic."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class KafkaUnavailable(IngestError):
    """No Kafka broker answered at the bootstrap servers."""


class PublishFailed(IngestError):
    """Kafka did not confirm the delivery of one or more messages."""
