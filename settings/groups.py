"""The settings groups, one environment prefix each, and `Settings`, which holds one of each."""

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from embedder.rerank import Reranker

LOOPBACK = "127.0.0.1"
# The serialisation context that writes secrets in clear (`model_dump_json(context=REVEAL_SECRETS)`): only for the
# Storm config, which is how the topology's workers get their store credentials; every other dump masks them.
REVEAL_SECRETS = {"reveal_secrets": True}


class StoreSettings(BaseSettings):
    """Where Milvus, Solr and Kafka are, the topics, and how long one store request may take."""

    model_config = SettingsConfigDict(env_prefix="CBIR_STORES_")

    milvus_uri: str = f"http://{LOOPBACK}:19530"
    milvus_collection_prefix: str = Field(
        default="catalog",
        pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}$",
        description="the Milvus collections are <prefix>_<model version>_d<dim> (letters and digits: the first '_' "
        "ends it); deletes reach every collection of this prefix, so deployments sharing one Milvus keep apart by it",
    )
    solr_core_url: str = f"http://{LOOPBACK}:8983/solr/catalog"
    kafka_bootstrap_servers: str = f"{LOOPBACK}:9092"
    topic: str = Field(default="images", description="the ingest messages (crawlers and POST /v1/items publish)")
    dead_letter_topic: str = "images.dlq"
    status_topic: str = Field(default="images.status", description="compacted: the latest status of each product")
    timeout_s: float = Field(default=10.0, gt=0, description="one store request")
    photo_store: Path = Field(
        default=Path("run/photos"),
        description="every indexed photo by SHA-256 (indexer/photo_store.py), what a model promotion re-embeds "
        "from; on a cluster, a volume shared by the ingest workers and the host running `cbir model promote`",
    )
    # The stores' own authentication (docker-compose.yml enables it; the local stack runs without): unset, none.
    solr_username: str = Field(default="", description="Solr basic auth user")
    solr_password: SecretStr | None = None
    milvus_token: SecretStr | None = Field(default=None, description="Milvus user:password (or an API key)")
    kafka_sasl_username: str = Field(default="", description="set: Kafka clients use SASL_PLAINTEXT")
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"

    @field_validator("photo_store")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        """Resolved where the settings are read: Storm workers run in folders of their own."""
        return path.absolute()

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> "StoreSettings":
        """A user without a password (or the reverse) is a mistake, not "no authentication"."""
        for store, user, password in (
            ("solr", self.solr_username, self.solr_password),
            ("kafka_sasl", self.kafka_sasl_username, self.kafka_sasl_password),
        ):
            if bool(user) != bool(password and password.get_secret_value()):
                raise ValueError(f"set both {store}_username and {store}_password, or neither")
        return self

    @field_serializer("solr_password", "milvus_token", "kafka_sasl_password", when_used="json")
    def _secret(self, secret: SecretStr | None, info: SerializationInfo) -> str | None:
        """Masked ('**********') unless dumped with context=REVEAL_SECRETS."""
        if secret is None:
            return None
        return secret.get_secret_value() if (info.context or {}).get("reveal_secrets") else str(secret)

    def solr_auth(self) -> tuple[str, str] | None:
        """Solr's basic auth (user, password) for requests and pysolr, None when Solr has none."""
        if not self.solr_username or self.solr_password is None:
            return None
        return self.solr_username, self.solr_password.get_secret_value()

    def milvus_token_value(self) -> str:
        """Milvus's token (user:password), '' when Milvus has no authorization."""
        return self.milvus_token.get_secret_value() if self.milvus_token else ""


class FetchSettings(BaseSettings):
    """How photos are fetched by URL (the topology's messages, the API's image_url queries) and how large a photo
    may be (fetched or uploaded)."""

    model_config = SettingsConfigDict(env_prefix="CBIR_FETCH_")

    timeout_s: float = Field(default=5.0, gt=0, description="the whole fetch, redirects included")
    max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=3, ge=0)
    # Image URLs resolving to loopback, private or link-local addresses are refused unless inside one of these.
    allowed_networks: list[str] = []


class EmbeddingSettings(BaseSettings):
    """Which checkpoints embed photos (and words), and where the model runs."""

    model_config = SettingsConfigDict(env_prefix="CBIR_EMBEDDING_")

    model_path: Path = Path("models/catalog.pt")
    # The text encoder of searches by words alone (models/text-encoder.pt): q is embedded and searched in Milvus
    # too, fused with Solr's BM25 by RRF. None: words alone are Solr's ranking only.
    text_encoder_path: Path | None = None
    # The `learned` re-ranker's pair scorer (models/pair-scorer.json, `cbir train-pair-scorer`), for one image
    # model: searches of another model's collection fall back to ssim_cosine.
    pair_scorer_path: Path | None = None
    device: str = Field(default="cpu", description="cpu, cuda or auto")
    torch_threads: int = Field(default=1, ge=1, description="torch threads per embedding")
    model_poll_s: float = Field(
        default=5.0, gt=0, description="how often the API and the ingest read the model registry (a promotion)"
    )


class IndexerSettings(BaseSettings):
    """How vectors are indexed and searched, and how store writes are batched and retried."""

    model_config = SettingsConfigDict(env_prefix="CBIR_INDEXER_")

    # FLAT (exact): what milvus-lite 2.5 serves fastest at full recall; a Milvus server can take HNSW.
    index_type: str = "FLAT"
    metric_type: str = "COSINE"
    index_build_params: dict[str, Any] = {}
    index_search_params: dict[str, Any] = {}
    batch_size: int = Field(default=512, ge=1)
    solr_commit_within_ms: int = Field(default=500, ge=0, description="a write is searchable in Solr within this")
    retry_attempts: int = Field(default=4, ge=1)
    retry_initial_delay_s: float = Field(default=0.2, ge=0)


class IngestSettings(BaseSettings):
    """How the topology consumes, batches, retries and reports (Storm's knobs included)."""

    model_config = SettingsConfigDict(env_prefix="CBIR_INGEST_")

    consumer_group: str = "cbir-ingest"
    embed_batch_size: int = Field(default=32, ge=1)
    index_batch_size: int = Field(default=64, ge=1)
    batch_max_wait_ms: int = Field(
        default=200, ge=0, description="a partial batch is handled once its first tuple waited this long (and on ticks)"
    )
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
    max_spout_pending: int = Field(default=1024, ge=1)
    message_timeout_s: int = Field(default=60, ge=1)
    multilang_serializer: Literal["json", "msgpack"] = Field(
        default="msgpack", description="how the Storm worker and the Python components talk: JSON or MessagePack"
    )


class ApiSettings(BaseSettings):
    """Where the API listens, who may publish and annotate, and the limits it puts on every request."""

    model_config = SettingsConfigDict(env_prefix="CBIR_API_")

    host: str = LOOPBACK
    port: int = Field(default=8000, ge=1, le=65535)
    # Search this model version's collection instead of the model's own (benchmarks on synthetic vectors).
    collection_version: str | None = None
    # Keys that may publish items (POST /v1/items); none means publishing is refused for everyone.
    api_keys: list[SecretStr] = []
    k_default: int = Field(default=20, ge=1)
    k_max: int = Field(default=100, ge=1)
    max_depth: int = Field(default=1000, ge=1, description="deepest result a cursor may reach")
    text_candidates: int = Field(default=200, ge=1, description="Solr text hits fused with the image ranking")
    rrf_k: float = Field(default=60.0, gt=0, description="the rank constant of reciprocal rank fusion")
    rerank: Reranker = Field(
        default="learned",
        description="the second look at a photo search's first candidates (embedder/rerank.py, pair_scorer.py); "
        "a request's `rerank` overrides it; learned needs CBIR_EMBEDDING_PAIR_SCORER_PATH (else ssim_cosine); "
        "reports/bench-rerank-api.json measures each",
    )
    rerank_depth: int = Field(default=20, ge=2, le=200, description="the first-stage candidates a re-ranker reorders")
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
    # Dynamic micro-batching of the forward pass (api/batching.py): a lone query runs at once; under load, queued
    # queries share one forward pass of at most embed_max_batch images, gathered for at most embed_max_wait_ms.
    embed_max_batch: int = Field(default=16, ge=1, description="query images per batched forward pass")
    embed_max_wait_ms: float = Field(default=2.0, ge=0, description="longest wait for a batch to fill")
    # The same for Milvus searches of the same k and filter: one search call for up to search_max_batch queries.
    search_max_batch: int = Field(default=16, ge=1, description="query vectors per batched Milvus search")
    search_max_wait_ms: float = Field(default=2.0, ge=0, description="longest wait for a search batch to fill")
    search_max_in_flight: int = Field(default=2, ge=1, description="Milvus search calls at once per k and filter")
    # The live recall canary (indexer/recall_canary.py): this share of searches is re-run through the index and
    # exactly (a scan of the collection) every recall_canary_interval_s; 0 switches it off.
    recall_canary_rate: float = Field(default=0.01, ge=0, le=1, description="share of searches the canary re-runs")
    recall_canary_interval_s: float = Field(default=60.0, gt=0, description="seconds between the canary's rounds")

    @model_validator(mode="after")
    def _k_bounds(self) -> "ApiSettings":
        """k_default within [1, k_max] and k_max within max_depth."""
        if not self.k_default <= self.k_max <= self.max_depth:
            raise ValueError("need k_default <= k_max <= max_depth")
        return self


class Settings(BaseModel):
    """One group of each concern; each deployable reads the groups it needs."""

    stores: StoreSettings = Field(default_factory=StoreSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    indexer: IndexerSettings = Field(default_factory=IndexerSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    def changed(self, **groups: dict[str, Any]) -> "Settings":
        """A copy with some fields of some groups changed: `settings.changed(stores={"topic": "t"})`."""
        updates = {name: getattr(self, name).model_copy(update=fields) for name, fields in groups.items()}
        return self.model_copy(update=updates)


# The groups by their name in Settings (and so by environment prefix: CBIR_<NAME>_).
GROUPS: dict[str, type[BaseSettings]] = {
    "stores": StoreSettings,
    "fetch": FetchSettings,
    "embedding": EmbeddingSettings,
    "indexer": IndexerSettings,
    "ingest": IngestSettings,
    "api": ApiSettings,
}
