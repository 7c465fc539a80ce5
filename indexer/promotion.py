"""A new embedder model without downtime (`cbir model promote`), and back (`cbir model rollback`).

Promotion, while searches keep using the serving model's collection:
1. gate: both models rank a labelled evaluation set (a <category>/<photo> folder, leave-one-out); the new model
   is refused if its R@1 or mAP@all is lower than the serving model's by more than the tolerance;
2. register the new model as `building`: from their next registry poll, the ingest workers write its collection
   too (each photo embedded by every registered model);
3. build: every item of the serving collection is re-embedded from the photo store into the new collection;
4. catch up: once the ingest has seen the new model (one poll later), what it wrote or deleted meanwhile is
   copied, round after round until a round finds nothing to do;
5. switch: one write of the registry's serving row; the API and the ingest follow at their next poll.

The old model stays registered (standby): the ingest keeps its collection current, so `rollback` (which catches
up the same way, then switches back) is complete too. `drop` ends that and deletes the collection.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from embedder import Embedder, EmbedderError
from embedder.evaluation.protocols import Protocol, folder_images
from embedder.evaluation.representations import ModelRepresentation
from indexer.errors import IndexerError
from indexer.metadata_store import MetadataStore
from indexer.model_registry import ModelRecord, ModelRegistry, ServingRecord
from indexer.photo_store import PhotoStore
from indexer.vector_store import VectorStore

logger = logging.getLogger(__name__)

GATE_METRICS = ("R@1", "mAP@all")
MAX_CATCH_UP_ROUNDS = 5


class PromotionRefused(IndexerError):
    """The promotion (or rollback) stopped before the switch; searches still use the serving model."""


@dataclass
class SyncResult:
    """What one pass of copying a collection's items into another model's collection did."""

    added: int = 0
    removed: int = 0
    missing_photos: list[str] = field(default_factory=list)  # item ids whose photo is not in the photo store
    without_metadata: int = 0  # vectors of the source with no Solr document (orphans the reconciler reports)
    seconds: float = 0.0


@dataclass
class PromotionReport:
    """The promotion's timeline and the gate's numbers."""

    version: str
    previous: str
    gate: dict[str, Any]
    build: SyncResult | None = None
    catch_up: list[SyncResult] = field(default_factory=list)
    switch_s: float = 0.0
    switched: bool = False

    @property
    def items_per_s(self) -> float:
        """Items re-embedded per second of the build."""
        if self.build is None or self.build.seconds <= 0:
            return 0.0
        return self.build.added / self.build.seconds

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "items_per_s": round(self.items_per_s, 1)}


def run_gate(current: Embedder, new: Embedder, eval_root: Path, tolerance: float = 0.0) -> dict[str, Any]:
    """Both models on the labelled folder (leave-one-out, class level); passed unless the new one is worse."""
    images = folder_images(eval_root)
    protocol = Protocol("gate", f"leave-one-out on {eval_root}", images, images, leave_one_out=True)
    scores = {
        name: {metric: round(value, 4) for metric, value in protocol.run(ModelRepresentation(name, model)).items()}
        for name, model in (("serving", current), ("candidate", new))
    }
    worse = [m for m in GATE_METRICS if scores["candidate"][m] < scores["serving"][m] - tolerance]
    return {
        "eval_set": str(eval_root), "images": len(images.images), "tolerance": tolerance, "metrics": list(GATE_METRICS),
        "serving": {"version": current.version, **scores["serving"]},
        "candidate": {"version": new.version, **scores["candidate"]},
        "passed": not worse, "worse_on": worse,
    }  # fmt: skip


def sync_collection(
    source: VectorStore,
    target: VectorStore,
    metadata: MetadataStore,
    photos: PhotoStore,
    embedder: Embedder,
    batch_size: int = 256,
    progress: bool = True,
) -> SyncResult:
    """Make target (embedder's collection) hold exactly the items of source: embed the missing ones from their
    stored photos (metadata from Solr), delete those source no longer has."""
    started = time.monotonic()
    result = SyncResult()
    wanted, present = source.all_ids(), target.all_ids()
    missing, extra = sorted(wanted - present), sorted(present - wanted)
    if extra:
        target.delete(extra)
        result.removed = len(extra)
    with tqdm(total=len(missing), desc=f"re-embedding into {target.model_version}", unit="item",
              disable=not progress) as bar:  # fmt: skip
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            result.added += _embed_chunk(chunk, target, metadata, photos, embedder, result)
            bar.update(len(chunk))
    target.flush()
    result.seconds = time.monotonic() - started
    return result


def _embed_chunk(
    ids: Sequence[str], target: VectorStore, metadata: MetadataStore, photos: PhotoStore, embedder: Embedder,
    result: SyncResult,
) -> int:  # fmt: skip
    """Embed and write one chunk of items; returns how many were written."""
    items = metadata.get(ids)
    result.without_metadata += len(ids) - len(items)
    kept, pixels = [], []
    for item in items.values():
        data = photos.get(item.photo_sha256)
        if data is None:
            result.missing_photos.append(item.id)
            continue
        try:
            pixels.append(embedder.pixels([data])[0])  # (C, H, W) uint8
        except EmbedderError as error:  # it decoded when it was indexed: a damaged file
            logger.warning("photo %s of %s does not decode: %s", item.photo_sha256, item.id, error)
            result.missing_photos.append(item.id)
            continue
        kept.append(item.model_copy(update={"model_version": embedder.version}))
    if kept:
        target.upsert(kept, embedder.embed_pixels(np.stack(pixels)))  # (N, D)
    return len(kept)


def catch_up(
    sync: Callable[[], SyncResult], registered_at: float, poll_s: float, sleep: Callable[[float], None] = time.sleep
) -> list[SyncResult]:
    """Sync rounds once every ingest worker has read the registry since registered_at (one poll and a margin),
    until a round copies and removes nothing."""
    wait = registered_at + 2 * poll_s - time.monotonic()
    if wait > 0:
        sleep(wait)
    rounds = []
    for _ in range(MAX_CATCH_UP_ROUNDS):
        rounds.append(sync())
        if not (rounds[-1].added or rounds[-1].removed):
            return rounds
    raise PromotionRefused(f"still catching up after {MAX_CATCH_UP_ROUNDS} rounds: is the ingest writing it?")


def _complete(result: SyncResult) -> SyncResult:
    """The result, unless some items could not be re-embedded: then PromotionRefused (nothing may go missing)."""
    if result.missing_photos:
        raise PromotionRefused(
            f"{len(result.missing_photos)} items have no photo in the photo store (indexed before it existed?), "
            f"e.g. {result.missing_photos[:3]}: re-publish or re-index them, then try again"
        )
    return result


@dataclass
class Stores:
    """What promotion works on: the registry, Solr, the photo store, and how to open a model's collection."""

    registry: ModelRegistry
    metadata: MetadataStore
    photos: PhotoStore
    collection: Callable[[ModelRecord], VectorStore]
    poll_s: float
    load: Callable[[str], Embedder] = Embedder.load


def ensure_serving(stores: Stores, fallback: ModelRecord) -> ModelRecord:
    """The serving model's record; before the first promotion, the settings' model is registered as serving."""
    serving = stores.registry.serving()
    models = stores.registry.models()
    if serving is not None and serving.version in models:
        return models[serving.version]
    stores.registry.put(fallback.model_copy(update={"state": "serving"}))
    stores.registry.switch(fallback.version)
    return fallback


def promote(
    stores: Stores, fallback: ModelRecord, checkpoint: Path, eval_root: Path, tolerance: float = 0.0,
    progress: bool = True,
) -> PromotionReport:  # fmt: skip
    """Gate, build, catch up and switch to the checkpoint's model (module docstring); PromotionRefused if the gate
    or the photos refuse it, and then searches still use the serving model."""
    current_record = ensure_serving(stores, fallback)
    current, new = stores.load(current_record.checkpoint), stores.load(str(checkpoint))
    if new.version == current.version:
        raise PromotionRefused(f"model {new.version} already serves searches")
    gate = run_gate(current, new, eval_root, tolerance)
    report = PromotionReport(version=new.version, previous=current.version, gate=gate)
    if not gate["passed"]:
        raise PromotionRefused(f"the gate refused {new.version}: worse on {gate['worse_on']} ({gate})")
    record = ModelRecord(
        version=new.version, dim=new.dim, checkpoint=str(checkpoint.absolute()), state="building", gate=gate
    )
    stores.registry.put(record)  # from the ingest's next poll on, new photos reach both collections
    registered_at = time.monotonic()
    source, target = stores.collection(current_record), stores.collection(record)

    def sync() -> SyncResult:
        return _complete(sync_collection(source, target, stores.metadata, stores.photos, new, progress=progress))

    try:
        report.build = sync()
        report.catch_up = catch_up(sync, registered_at, stores.poll_s)
    except PromotionRefused:
        stores.registry.remove(new.version)
        target.drop()
        raise
    started = time.monotonic()
    stores.registry.switch(new.version)
    report.switch_s = time.monotonic() - started
    report.switched = True
    logger.info("promoted %s", report.as_dict())
    return report


def rollback(stores: Stores, progress: bool = True) -> tuple[ServingRecord, list[SyncResult]]:
    """Switch back to the previous model, after catching its collection up with the serving one's."""
    serving = stores.registry.serving()
    models = stores.registry.models()
    if serving is None or not serving.previous:
        raise PromotionRefused("no previous model to roll back to")
    if serving.previous not in models:
        raise PromotionRefused(f"the previous model {serving.previous} was dropped")
    current, previous = models[serving.version], models[serving.previous]
    source, target, embedder = stores.collection(current), stores.collection(previous), stores.load(previous.checkpoint)
    rounds = catch_up(
        lambda: _complete(sync_collection(source, target, stores.metadata, stores.photos, embedder, progress=progress)),
        registered_at=time.monotonic() - 2 * stores.poll_s, poll_s=stores.poll_s,
    )  # fmt: skip
    return stores.registry.switch(previous.version), rounds


def drop(stores: Stores, version: str) -> None:
    """Forget a model that does not serve, and delete its collection."""
    models, serving = stores.registry.models(), stores.registry.serving()
    if version not in models:
        raise PromotionRefused(f"model {version} is not registered")
    if serving is not None and serving.version == version:
        raise PromotionRefused(f"model {version} serves searches: promote or roll back to another first")
    stores.registry.remove(version)
    stores.collection(models[version]).drop()
