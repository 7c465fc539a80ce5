"""What an annotator decides, made durable: relabelled items as ingest messages, labels and relevance as JSONL.

The labels file is read by training (one JSON object a line: item_id, product_id, category, cluster, at); the
relevance file is an evaluation set of query -> result judgements for the promotion gate and the re-ranker.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from indexer.item import DERIVED_FIELDS, CatalogItem
from ingest.message import SCHEMA_VERSION, UpsertMessage

_WRITE_LOCK = threading.Lock()


def relabelled_message(item: CatalogItem, category: str, photo: bytes | None, crawled_at: datetime) -> UpsertMessage:
    """The upsert that gives an indexed item a category: its photo inline when known, else its image_url.

    `crawled_at` makes the relabelling a new crawl of the product: every photo of the product must be re-published
    with it (those not relabelled with their own category), or the newer crawl deletes them.
    """
    fields = item.model_dump(exclude={*DERIVED_FIELDS, "category", "crawled_at"})
    return UpsertMessage(
        schema_version=SCHEMA_VERSION, op="upsert", category=category, crawled_at=crawled_at,
        image_b64=base64.b64encode(photo).decode() if photo is not None else None, **fields,
    )  # fmt: skip


def append_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Append records as JSON lines (one writer at a time); returns how many were written."""
    lines = [json.dumps(record, default=str) + "\n" for record in records]
    with _WRITE_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.writelines(lines)
    return len(lines)


def label_record(item: CatalogItem, category: str, cluster: int) -> dict[str, Any]:
    """The labels-file record of one accepted item, naming its photo by photo_sha256."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return {"item_id": item.id, "photo_sha256": item.photo_sha256, "product_id": item.product_id,
            "category": category, "cluster": cluster, "at": at}  # fmt: skip
