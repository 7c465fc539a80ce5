"""Settings of the search API, read from `CBIR_API_*` environment variables: the one object the app reads."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Where the API listens, which model and stores it uses, and the limits it puts on every request."""

    model_config = SettingsConfigDict(env_prefix="CBIR_API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    model_path: Path = Path("models/catalog.pt")
    # The text encoder of searches by words alone (models/text-encoder.pt): q is embedded and searched in Milvus
    # too, fused with Solr's BM25 by RRF. None: words alone are Solr's ranking only.
    text_encoder_path: Path | None = None
    # Search this model version's collection instead of the model's own (benchmarks on synthetic vectors).
    collection_version: str | None = None
    milvus_uri: str = "http://127.0.0.1:19530"
    solr_core_url: str = "http://127.0.0.1:8983/solr/catalog"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic: str = "images"
    # The topology's product statuses (compacted), read in the background for GET /v1/products/{id}/status.
    kafka_status_topic: str = "images.status"
    index_search_params: dict[str, Any] = {}
    metric_type: str = "COSINE"
    store_timeout_s: float = Field(default=5.0, gt=0)
    # Keys that may publish items (POST /v1/items); none means publishing is refused for everyone.
    api_keys: list[SecretStr] = []
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    k_default: int = Field(default=20, ge=1)
    k_max: int = Field(default=100, ge=1)
    max_depth: int = Field(default=1000, ge=1, description="deepest result a cursor may reach")
    text_candidates: int = Field(default=200, ge=1, description="Solr text hits fused with the image ranking")
    rrf_k: float = Field(default=60.0, gt=0, description="the rank constant of reciprocal rank fusion")
    image_fetch_timeout_s: float = Field(default=5.0, gt=0)
    image_fetch_max_redirects: int = Field(default=3, ge=0)
    # image_url queries resolving to loopback/private addresses are refused unless inside one of these networks.
    image_fetch_allowed_networks: list[str] = []
    # A folder of the catalog's photos, served at /v1/items/{id}/photo (found by the item's photo_sha256): for a
    # catalog whose image_url is not reachable, such as the demo's synthetic one.
    photo_dir: Path | None = None
    # Keys of annotators (the /annotate page and /v1/annotate); none means annotation is refused for everyone.
    annotator_keys: list[SecretStr] = []
    mining_proposals_path: Path = Path("run/mining/proposals.json")  # written by `cbir mine`
    labels_path: Path = Path("run/mining/labels.jsonl")  # accepted labels, read by training
    relevance_path: Path = Path("run/mining/relevance.jsonl")  # query -> result judgements, an evaluation set
    embed_workers: int = Field(default=2, ge=1, description="threads that decode and embed query images")
    # Load shedding: beyond workers + queue calls at once, a request gets 503 with Retry-After, not a wait.
    embed_queue: int = Field(default=16, ge=0, description="query images waiting for an embedding thread")
    fetch_workers: int = Field(default=8, ge=1, description="threads that fetch image_url queries")
    fetch_queue: int = Field(default=8, ge=0, description="image_url queries waiting for a fetch thread")
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After of a 503 when a pool is full")
    # Per-client rate limits (token buckets: requests a second, burst); a rate of 0 switches a limit off.
    search_rate_per_s: float = Field(default=10.0, ge=0, description="searches, similar and facets per client")
    search_burst: int = Field(default=20, ge=1)
    publish_rate_per_s: float = Field(default=5.0, ge=0, description="POST /v1/items per client")
    publish_burst: int = Field(default=20, ge=1)
    torch_threads: int = Field(default=1, ge=1, description="torch threads per embedding")
    embed_device: str = Field(default="cpu", description="where query photos are embedded: cpu, cuda or auto")
    # Dynamic micro-batching of the forward pass (api/batching.py): a lone query runs at once; under load, queued
    # queries share one forward pass of at most embed_max_batch images, gathered for at most embed_max_wait_ms.
    embed_max_batch: int = Field(default=16, ge=1, description="query images per batched forward pass")
    embed_max_wait_ms: float = Field(default=2.0, ge=0, description="longest wait for a batch to fill")
    # The same for Milvus searches of the same k and filter: one search call for up to search_max_batch queries.
    search_max_batch: int = Field(default=16, ge=1, description="query vectors per batched Milvus search")
    search_max_wait_ms: float = Field(default=2.0, ge=0, description="longest wait for a search batch to fill")
    search_max_in_flight: int = Field(default=2, ge=1, description="Milvus search calls at once per k and filter")

    @model_validator(mode="after")
    def _k_bounds(self) -> "ApiSettings":
        """k_default within [1, k_max] and k_max within max_depth."""
        if not self.k_default <= self.k_max <= self.max_depth:
            raise ValueError("need k_default <= k_max <= max_depth")
        return self


@lru_cache
def get_api_settings() -> ApiSettings:
    """The settings read once from the environment."""
    return ApiSettings()
