"""The work of each topology stage as plain functions: the bolts call these, tests call them without Storm."""

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from embedder import EmbedderError
from embedder.colour import dominant_colour
from embedder.config import ModelConfig
from embedder.preprocessing import decode, to_pixels
from embedder.rerank import thumbnail_text
from indexer.catalog_index import CatalogIndex
from indexer.errors import StoreRequestRejected
from indexer.item import DERIVED_FIELDS, CatalogItem, photo_sha256
from ingest.errors import RecordRejected
from ingest.message import SCHEMA_VERSION, DeleteMessage, UpsertMessage, encode_message
from ingest.status import ProductStatus

logger = logging.getLogger(__name__)

DECODE_STAGE = "decode"
INDEX_STAGE = "index"


@dataclass(frozen=True)
class PreparedImage:
    """A photo ready to embed: its message (without inline bytes), its photo_sha256, its pixels (C, H, W) uint8 and
    its thumbnail (the re-ranker's, as text)."""

    message: UpsertMessage
    photo_sha256: str
    pixels: NDArray[np.uint8]
    thumbnail: str


def image_bytes(message: UpsertMessage, fetch: Callable[[str], bytes], max_bytes: int) -> bytes:
    """The photo of an upsert: its inline bytes, or fetched from its URL; RecordRejected if too large."""
    data = message.image_bytes()
    if data is None:
        data = fetch(message.image_url)
    if len(data) > max_bytes:
        raise RecordRejected(DECODE_STAGE, f"image of {len(data)} bytes exceeds the limit of {max_bytes}")
    return data


def prepare(message: UpsertMessage, data: bytes, config: ModelConfig) -> PreparedImage:
    """Decode and resize a photo for the model, and derive its colour when the message has none; RecordRejected
    (stage decode) if it is not a usable image."""
    try:
        image = decode(data)
        pixels, thumbnail = to_pixels(image, config), thumbnail_text(image)
        message = message.with_colour(lambda: dominant_colour(image))  # when the crawler sent none
    except (EmbedderError, OSError, ValueError) as error:  # PIL can fail late, while converting
        raise RecordRejected(DECODE_STAGE, f"not a usable image: {error}") from error
    return PreparedImage(message.without_image(), photo_sha256(data), pixels, thumbnail)


def pixels_to_text(pixels: NDArray[np.uint8]) -> str:
    """Pixels as base64 text, for a tuple (the shape is the model's, known to the receiver)."""
    return base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode()


def pixels_from_text(text: str, config: ModelConfig) -> NDArray[np.uint8]:
    """The (C, H, W) uint8 pixels of pixels_to_text for a model of this config."""
    shape = (config.channels, config.image_height, config.image_width)
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8).reshape(shape)


def vector_to_text(vector: NDArray[np.float32]) -> str:
    """A vector as base64 of its float32 bytes: exact, and a quarter the size of a JSON list of floats."""
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode()


def vector_from_text(text: str) -> NDArray[np.float32]:
    """The vector of vector_to_text."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


@dataclass(frozen=True)
class IndexOp:
    """One write of the index stage: an item with its vector, or the deletion of a product's items (deleted_at:
    the message's, None if it has none)."""

    item: CatalogItem | None = None
    vector: NDArray[np.float32] | None = None
    delete_product: str | None = None
    deleted_at: datetime | None = None


def by_model(ops: Sequence[IndexOp]) -> dict[str | None, list[int]]:
    """The positions of the ops of each model version (None: the deletes, which reach every model), in order."""
    groups: dict[str | None, list[int]] = {}
    for position, op in enumerate(ops):
        groups.setdefault(op.item.model_version if op.item is not None else None, []).append(position)
    return groups


def original_message(op: IndexOp) -> bytes:
    """The ingest message an index op came from, as published (an inline photo is not kept: image_url is)."""
    if op.item is None:
        return encode_message(
            DeleteMessage(
                schema_version=SCHEMA_VERSION, op="delete", product_id=str(op.delete_product), deleted_at=op.deleted_at
            )
        )
    fields = op.item.model_dump(exclude=set(DERIVED_FIELDS))
    return encode_message(UpsertMessage(schema_version=SCHEMA_VERSION, op="upsert", **fields))


def apply_index_ops(index: CatalogIndex, ops: Sequence[IndexOp]) -> dict[int, RecordRejected]:
    """Apply ops in order (consecutive upserts as one batch, consecutive deletes as one); returns the rejected ones.

    A delete without deleted_at is dated now, when it is applied.

    StoreUnavailable (after the index's retries) propagates: nothing of the batch may be acknowledged then,
    and replaying it is safe because every write is idempotent.
    """
    rejected: dict[int, RecordRejected] = {}
    start = 0
    while start < len(ops):
        is_upsert = ops[start].item is not None
        end = start + 1
        while end < len(ops) and (ops[end].item is not None) == is_upsert:
            end += 1
        if is_upsert:
            rejected.update(_upsert_run(index, ops, start, end))
        else:
            index.delete_products(_deletions(ops[start:end], datetime.now(UTC)))
        start = end
    return rejected


def _deletions(ops: Sequence[IndexOp], now: datetime) -> dict[str, datetime]:
    """Product id -> when it was deleted, for delete ops (the latest of a product's; `now` for those undated)."""
    deleted: dict[str, datetime] = {}
    for op in ops:
        product, at = str(op.delete_product), op.deleted_at or now
        deleted[product] = max(at, deleted.get(product, at))
    return deleted


def _upsert_run(index: CatalogIndex, ops: Sequence[IndexOp], start: int, end: int) -> dict[int, RecordRejected]:
    """Upsert ops[start:end] in one batch; if a store rejects the batch, one by one to find the bad ones."""
    items = [op.item for op in ops[start:end] if op.item is not None]
    vectors = np.stack([np.asarray(op.vector, dtype=np.float32) for op in ops[start:end]])
    try:
        index.upsert(items, vectors)
        return {}
    except StoreRequestRejected as error:
        logger.warning("batch of %d rejected (%s); writing one by one", len(items), error)
    rejected = {}
    for position in range(start, end):
        try:
            index.upsert([items[position - start]], vectors[position - start : position - start + 1])
        except StoreRequestRejected as error:
            rejected[position] = RecordRejected(INDEX_STAGE, str(error))
    return rejected


def written_statuses(ops: Sequence[IndexOp], rejected: dict[int, RecordRejected]) -> list[ProductStatus]:
    """The status of each op apply_index_ops wrote (searchable or deleted), in op order; rejected ops have none
    (their dead letters give theirs)."""
    statuses = []
    for position, op in enumerate(ops):
        if position in rejected:
            continue
        written = ProductStatus.searchable(op.item) if op.item is not None else None
        statuses.append(written or ProductStatus.deleted(str(op.delete_product)))
    return statuses
