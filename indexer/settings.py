"""Settings of the indexer, read from `CBIR_INDEXER_*` environment variables."""

from functools import lru_cache
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.retry import RetryPolicy


class IndexerSettings(BaseSettings):
    """Where the two stores are, how vectors are indexed, and how writes are batched and retried."""

    model_config = SettingsConfigDict(env_prefix="CBIR_INDEXER_")

    milvus_uri: str = "http://127.0.0.1:19530"
    solr_core_url: str = "http://127.0.0.1:8983/solr/catalog"
    model_version: str = "cbir-gan-v1"
    # FLAT (exact): what milvus-lite 2.5 serves fastest at full recall; a Milvus server can take HNSW.
    index_type: str = "FLAT"
    metric_type: str = "COSINE"
    index_build_params: dict[str, Any] = {}
    index_search_params: dict[str, Any] = {}
    batch_size: int = Field(default=512, ge=1)
    solr_commit_within_ms: int = Field(default=1000, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=4, ge=1)
    retry_initial_delay_s: float = Field(default=0.2, ge=0)

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(attempts=self.retry_attempts, initial_delay_s=self.retry_initial_delay_s)


@lru_cache
def get_indexer_settings() -> IndexerSettings:
    """The settings read once from the environment."""
    return IndexerSettings()
