"""The dead-letter record: a message that can never be ingested, why, and where in the stream it failed."""

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DEAD_LETTER_SCHEMA_VERSION = 1


class DeadLetter(BaseModel):
    """One record of Kafka topic `images.dlq`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = DEAD_LETTER_SCHEMA_VERSION
    message: str = Field(description="The original message as published (UTF-8, undecodable bytes replaced)")
    stage: str = Field(description="parse, fetch, decode, embed, index or spout")
    reason: str
    failed_at: AwareDatetime
    source: str = Field(default="", description="topic/partition/offset of the original message")

    @classmethod
    def of(cls, message: bytes | str, stage: str, reason: str, source: str = "") -> "DeadLetter":
        """A record failed now."""
        text = message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message
        return cls(message=text, stage=stage, reason=reason, failed_at=datetime.now(UTC), source=source)

    def encode(self) -> bytes:
        """The JSON bytes written to the dead-letter topic."""
        return self.model_dump_json().encode()
