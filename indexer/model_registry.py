"""Which embedder model serves searches, and which others the ingest keeps current: the model registry.

It is a small Milvus collection of its own, `<prefix>_models`, beside the item collections: one row per registered
model (its version, dimension, checkpoint path and state) and one `serving` row naming the model that searches
use. Switching is one write of the `serving` row, so every API replica and ingest worker that polls the registry
follows a promotion or a rollback without a restart. (Milvus collection aliases would switch a collection, but
not the query encoder, and milvus-lite does not implement them.)

With no row at all, the stack runs the model of its settings (`CBIR_EMBEDDING_MODEL_PATH`), as before promotions.
"""

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import grpc
from pydantic import BaseModel, Field
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from embedder.checkpoint_facts import read_config
from indexer.errors import StoreUnavailable
from settings import EmbeddingSettings, Settings, StoreSettings

logger = logging.getLogger(__name__)

SERVING_ROW = "serving"
INFO_BYTES = 8192
# Milvus wants a vector field in every collection; the registry's rows carry this constant one.
_PLACEHOLDER_VECTOR = [0.0, 1.0]
VISIBLE_WITHIN_S = 5.0

ModelState = Literal["building", "serving", "standby"]


class ModelRecord(BaseModel):
    """One registered model: the ingest writes its collection; `state` says what it is for."""

    version: str = Field(description="the checkpoint's version (first 12 hex digits of its SHA-256)")
    dim: int = Field(gt=0)
    checkpoint: str = Field(description="absolute path of the checkpoint, readable by every API and ingest host")
    state: ModelState = Field(description="building: being filled; serving: searches use it; standby: kept current")
    gate: dict[str, Any] | None = Field(default=None, description="the promotion gate's numbers, once run")
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ServingRecord(BaseModel):
    """The `serving` row: the model searches use, and the one before it (what `rollback` returns to)."""

    version: str
    previous: str | None = None
    switched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def registry_collection(prefix: str) -> str:
    """The registry's collection name (item collections are <prefix>_<version>_d<dim>; this one has no d<dim>)."""
    return f"{prefix}_models"


class ModelRegistry:
    """Reads and writes the registry rows; every read is strongly consistent (a switch is seen at once)."""

    def __init__(self, client: MilvusClient, collection_prefix: str) -> None:
        self.client = client
        self.collection = registry_collection(collection_prefix)

    @classmethod
    def connect(cls, stores: StoreSettings) -> "ModelRegistry":
        """Connect as the store settings say, creating the registry collection if it is missing."""
        try:
            client = MilvusClient(
                uri=stores.milvus_uri, token=stores.milvus_token_value(), timeout=stores.timeout_s,
                alias=f"model-registry-{uuid.uuid4().hex}",
            )  # fmt: skip
        except MilvusException as error:
            raise StoreUnavailable(f"Milvus at {stores.milvus_uri} is unreachable: {error.message}") from error
        registry = cls(client, stores.milvus_collection_prefix)
        registry._call(registry._ensure_collection)
        return registry

    def _call(self, operation: Any) -> Any:
        try:
            return operation()
        except (MilvusException, grpc.RpcError) as error:
            message = getattr(error, "message", None) or str(error)
            raise StoreUnavailable(f"Milvus model registry {self.collection}: {message}") from error

    def _ensure_collection(self) -> None:
        if not self.client.has_collection(self.collection):
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("info", DataType.VARCHAR, max_length=INFO_BYTES)
            schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(_PLACEHOLDER_VECTOR))
            index = MilvusClient.prepare_index_params()
            index.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
            self.client.create_collection(self.collection, schema=schema, index_params=index)
        self.client.load_collection(self.collection)

    def _query(self, expression: str) -> list[dict[str, Any]]:
        """The rows (id, info) the filter expression selects, read with strong consistency."""
        return self._call(
            lambda: self.client.query(
                self.collection, filter=expression, output_fields=["id", "info"], consistency_level="Strong"
            )
        )

    def _rows(self) -> dict[str, dict[str, Any]]:
        return {row["id"]: json.loads(row["info"]) for row in self._query('id != ""')}

    def _row(self, row_id: str) -> str | None:
        rows = self._query(f"id == {json.dumps(row_id)}")
        return rows[0]["info"] if rows else None

    def _await_row(self, row_id: str, info: str | None) -> None:
        """Wait until a read sees row_id as written (None: deleted). milvus-lite may answer a strongly consistent
        query from before an upsert or delete it has just acknowledged, for about a millisecond; a registry whose
        writer cannot read its own write would, say, refuse to switch to the model it has just registered."""
        deadline = time.monotonic() + VISIBLE_WITHIN_S
        while self._row(row_id) != info:
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"Milvus model registry {self.collection}: {row_id} not visible after its write")
            time.sleep(0.005)

    def _write(self, row_id: str, info: BaseModel) -> None:
        text = info.model_dump_json()
        row = {"id": row_id, "info": text, "placeholder": _PLACEHOLDER_VECTOR}
        self._call(lambda: self.client.upsert(self.collection, [row]))
        self._await_row(row_id, text)

    def models(self) -> dict[str, ModelRecord]:
        """Every registered model, by version."""
        return {
            row_id.removeprefix("model:"): ModelRecord.model_validate(info)
            for row_id, info in self._rows().items()
            if row_id.startswith("model:")
        }

    def serving(self) -> ServingRecord | None:
        """The serving row; None before the first promotion (the settings' model serves then)."""
        info = self._rows().get(SERVING_ROW)
        return ServingRecord.model_validate(info) if info else None

    def put(self, record: ModelRecord) -> None:
        """Register a model, or update its record."""
        self._write(f"model:{record.version}", record.model_copy(update={"updated_at": datetime.now(UTC)}))

    def switch(self, version: str) -> ServingRecord:
        """Make version the serving model (one row write: the atomic switch); the one before becomes standby."""
        models = self.models()
        if version not in models:
            raise KeyError(f"model {version} is not registered")
        current = self.serving()
        previous: str | None = None
        if current is not None:
            previous = current.version if current.version != version else current.previous
        serving = ServingRecord(version=version, previous=previous)
        self._write(SERVING_ROW, serving)
        self.put(models[version].model_copy(update={"state": "serving"}))
        if previous and previous in models and previous != version:
            self.put(models[previous].model_copy(update={"state": "standby"}))
        logger.info("model %s serves now (previous: %s)", version, previous)
        return serving

    def remove(self, version: str) -> None:
        """Forget a model (its collection is the caller's to drop); the serving model cannot be removed."""
        serving = self.serving()
        if serving is not None and serving.version == version:
            raise ValueError(f"model {version} serves searches: promote or roll back to another first")
        self._call(lambda: self.client.delete(self.collection, ids=[f"model:{version}"]))
        self._await_row(f"model:{version}", None)
        if serving is not None and serving.previous == version:
            self._write(SERVING_ROW, serving.model_copy(update={"previous": None}))

    def close(self) -> None:
        self.client.close()


class RegistryView:
    """The registry as last read, read again at most every poll_s: what the API and each ingest worker follow.

    Before the first promotion (an empty registry) the fallback model, the settings' own, is the only one. When the
    registry cannot be read, the last view stays (a Milvus outage must not switch models).
    """

    def __init__(
        self, connect: Callable[[], ModelRegistry], fallback: ModelRecord, poll_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.connect = connect
        self.fallback = fallback
        self.poll_s = poll_s
        self.clock = clock
        self._registry: ModelRegistry | None = None
        self._read_at: float | None = None
        self._serving = fallback
        self._written = [fallback]
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> None:
        """Read the registry if poll_s has passed since the last read (or if forced)."""
        with self._lock:
            now = self.clock()
            if not force and self._read_at is not None and now - self._read_at < self.poll_s:
                return
            self._read_at = now
            try:
                if self._registry is None:
                    self._registry = self.connect()
                serving, models = self._registry.serving(), self._registry.models()
            except StoreUnavailable as error:
                logger.warning("model registry not read, keeping model %s: %s", self._serving.version, error)
                self._registry = None
                return
            if serving is None or serving.version not in models:
                self._serving, self._written = self.fallback, [self.fallback]
                return
            self._serving = models[serving.version]
            others = sorted((m for v, m in models.items() if v != serving.version), key=lambda m: m.version)
            self._written = [self._serving, *others]

    def serving(self) -> ModelRecord:
        """The model searches use."""
        self.refresh()
        return self._serving

    def written(self) -> list[ModelRecord]:
        """Every model whose collection the ingest keeps current, the serving one first."""
        self.refresh()
        return list(self._written)

    def by_version(self, version: str) -> ModelRecord | None:
        """A model the view knows (serving or written), by version."""
        return next((m for m in self._written if m.version == version), None)


def settings_model(embedding: EmbeddingSettings) -> ModelRecord:
    """The record of the settings' model (`CBIR_EMBEDDING_MODEL_PATH`), read without torch: what serves before
    the first promotion."""
    facts = read_config(embedding.model_path)
    return ModelRecord(
        version=facts.version, dim=facts.dim, checkpoint=str(Path(embedding.model_path).absolute()), state="serving"
    )


def registry_view(settings: Settings) -> RegistryView:
    """The view the API and the ingest workers follow, as their settings say."""
    return RegistryView(
        lambda: ModelRegistry.connect(settings.stores), settings_model(settings.embedding),
        settings.embedding.model_poll_s,
    )  # fmt: skip
