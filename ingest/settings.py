"""Settings of the ingest topology, read from `CBIR_INGEST_*` environment variables or the topology config."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.settings import IndexerSettings

INGEST_CONF_KEY = "cbir.ingest.settings"
INDEXER_CONF_KEY = "cbir.indexer.settings"


class IngestSettings(BaseSettings):
    """Where messages come from and go, how images are fetched, how work is batched, retried and reported."""

    model_config = SettingsConfigDict(env_prefix="CBIR_INGEST_")

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "images"
    dead_letter_topic: str = "images.dlq"
    status_topic: str = Field(default="images.status", description="compacted: the latest status of each product")
    consumer_group: str = "cbir-ingest"
    model_path: Path = Path("models/catalog.pt")
    embedding_dim: int = Field(default=128, ge=1, description="the model's; `cbir topology run` fills it in")
    fetch_timeout_s: float = Field(default=5.0, gt=0)
    max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # Image URLs resolving to loopback, private or link-local addresses are refused unless inside one of these.
    allowed_networks: list[str] = []
    embed_batch_size: int = Field(default=32, ge=1)
    index_batch_size: int = Field(default=64, ge=1)
    torch_threads: int = Field(default=1, ge=1)
    embed_device: str = Field(default="cpu", description="where the embed bolt runs the model: cpu, cuda or auto")
    max_replays: int = Field(default=3, ge=0, description="failures (or timeouts) of one message before the DLQ")
    retry_backoff_s: float = Field(default=1.0, ge=0, description="wait before a replay, doubled at each failure")
    commit_interval_s: float = Field(default=1.0, ge=0)
    partition_check_interval_s: float = Field(default=30.0, gt=0, description="how often new partitions are looked for")
    metrics_dir: Path | None = None
    metrics_interval_s: float = Field(default=5.0, gt=0)
    # The index bolt compares the stores' ids this often (0: never) and writes the orphan counts to metrics_dir;
    # an id must be an orphan twice, reconcile_settle_s apart, to count (a write in flight is not an orphan).
    reconcile_interval_s: float = Field(default=300.0, ge=0)
    reconcile_settle_s: float = Field(default=5.0, ge=0)
    # Storm: ticks flush partial batches; max_spout_pending caps tuples in flight; unacked tuples time out.
    tick_interval_s: int = Field(default=1, ge=1)
    max_spout_pending: int = Field(default=256, ge=1)
    message_timeout_s: int = Field(default=60, ge=1)

    def storm_config(self, indexer: IndexerSettings) -> dict[str, Any]:
        """The topology config: both settings as JSON for the components, and Storm's own knobs."""
        return {
            INGEST_CONF_KEY: self.model_dump_json(),
            INDEXER_CONF_KEY: indexer.model_dump_json(),
            "topology.max.spout.pending": self.max_spout_pending,
            "topology.message.timeout.secs": self.message_timeout_s,
            "topology.tick.tuple.freq.secs": self.tick_interval_s,
        }


def settings_from_storm_conf(storm_conf: dict[str, Any]) -> tuple[IngestSettings, IndexerSettings]:
    """The settings a component was started with (see IngestSettings.storm_config)."""
    return (
        IngestSettings(**json.loads(storm_conf[INGEST_CONF_KEY])),
        IndexerSettings(**json.loads(storm_conf[INDEXER_CONF_KEY])),
    )


@lru_cache
def get_ingest_settings() -> IngestSettings:
    """The settings read once from the environment."""
    return IngestSettings()
