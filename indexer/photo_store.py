"""Every indexed photo's bytes, by SHA-256, in a folder: what a model promotion re-embeds from.

Why a photo store, and not a replay of Kafka: a product's photos are several messages under one key, so a
compacted topic would keep only the last photo of each product, and a message that gave an `image_url` would
need the crawler's URL to still answer. The ingest (fetch bolt) and bulk loads write each photo here once, named
by its SHA-256 (the item id's second half), so re-embedding every item needs no crawler at all. On a cluster the
folder is a volume shared by the ingest workers and the host that runs `cbir model promote`.
"""

import os
import tempfile
from pathlib import Path

from indexer.item import photo_sha256


class PhotoStore:
    """Content-addressed photo files under root: <root>/<first 2 hex digits>/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Keep a photo (written once: an existing file is left as it is); returns its SHA-256."""
        sha256 = sha256 or photo_sha256(data)
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        # a whole file or none: write a temporary file beside it, then rename (atomic on one file system)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".partial-", delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, target)
        return sha256

    def get(self, sha256: str) -> bytes | None:
        """The photo's bytes, None if it was never kept."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
