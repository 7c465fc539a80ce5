"""A demo catalog from a folder of photos: one upsert message per `<category>/<photo>` file.

The catalog fields are the synthetic ones of `indexer.sample_catalog` (derived from the photo's bytes and its
category), the same that `cbir index` loads, so publishing a folder and bulk-loading it give the same items, and
publishing the same folder twice sends the same messages. Only `image_url` is the photo's own path under
`image_base_url`, so that a topology can fetch it when the bytes are not sent inline.
"""

import base64
from pathlib import Path

from embedder.data.image_folder import photo_category
from indexer.sample_catalog import sample_item_fields
from ingest.message import SCHEMA_VERSION, UpsertMessage

DEFAULT_IMAGE_BASE_URL = "https://img.cbir-demo.example/"
FLAT_FOLDER_CATEGORY = "clothing"


def demo_message(
    path: Path, root: Path, image_base_url: str = DEFAULT_IMAGE_BASE_URL, inline: bool = True
) -> UpsertMessage:
    """The message of one photo; its bytes inline (base64) unless inline is False (then fetched from the URL)."""
    image = path.read_bytes()
    category = photo_category(path, root) or FLAT_FOLDER_CATEGORY
    return UpsertMessage(
        schema_version=SCHEMA_VERSION,
        op="upsert",
        **sample_item_fields(image, category)
        | {
            "image_url": image_base_url.rstrip("/") + "/" + path.relative_to(root).as_posix(),
            "image_b64": base64.b64encode(image).decode() if inline else None,
        },
    )
