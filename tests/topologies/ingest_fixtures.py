"""A catalog of real photos with duplicates and bad records, served partly over HTTP, for the topology tests."""

import base64
import functools
import http.server
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from embedder.data.image_folder import folder_photos
from indexer.item import item_id, photo_sha256
from ingest.folder_catalog import demo_message
from ingest.message import SCHEMA_VERSION, DeleteMessage, UpsertMessage
from tests.ingest.kafka_helpers import CLOTHING_SMALL

MAX_IMAGE_BYTES = 200_000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local HTTP server (loopback, so the topology must be configured to allow it) and its folder."""
    folder = tmp_path_factory.mktemp("served")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PublishedCatalog:
    """What a test publishes, and what must come out of the topology."""

    messages: list[tuple[bytes, bytes | None]] = field(default_factory=list)  # (key, raw value), publishing order
    good_ids: dict[str, bytes] = field(default_factory=dict)  # item id -> photo bytes, after deletes
    bad: dict[str, str] = field(default_factory=dict)  # marker in the raw message -> expected stage


def _item_id(message: UpsertMessage, path: Path) -> str:
    """The id of the item the topology makes of a message of this photo."""
    return item_id(message.product_id, photo_sha256(path.read_bytes()))


def build_catalog(photos: int, duplicates: int, base_url: str, served: Path) -> PublishedCatalog:
    """photos of clothing-small/test (a fixed sample, half inline, half by URL), duplicates, a delete, bad records."""
    root = Path(CLOTHING_SMALL) / "test"
    paths = sorted(random.Random(0).sample(folder_photos(root), photos))
    catalog = PublishedCatalog()
    upserts: list[UpsertMessage] = []
    for n, path in enumerate(paths):
        inline = n % 2 == 0
        if not inline:
            target = served / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        upserts.append(demo_message(path, root, base_url, inline=inline))
        catalog.good_ids[_item_id(upserts[-1], path)] = path.read_bytes()
    for message in [*upserts, *upserts[:duplicates]]:
        catalog.messages.append((message.product_id.encode(), message.model_dump_json(exclude_none=True).encode()))
    deleted = upserts[-1]
    delete = DeleteMessage(schema_version=SCHEMA_VERSION, op="delete", product_id=deleted.product_id)
    catalog.messages.append((deleted.product_id.encode(), delete.model_dump_json().encode()))
    catalog.good_ids.pop(_item_id(deleted, paths[-1]))
    good = len(catalog.messages)
    _add_bad_records(catalog, upserts[0], paths[0].read_bytes(), base_url, served)
    # the bad records in the middle of the stream: the good ones after them must be indexed too
    half = photos // 2
    catalog.messages = [*catalog.messages[:half], *catalog.messages[good:], *catalog.messages[half:good]]
    return catalog


def _add_bad_records(
    catalog: PublishedCatalog, template: UpsertMessage, jpeg: bytes, base_url: str, served: Path
) -> None:
    """One record of each kind that must end in the dead-letter topic, marked by its product id."""
    (served / "oversized.jpg").write_bytes(jpeg[:4] + bytes(MAX_IMAGE_BYTES + 1000))
    (served / "notes.txt").write_text("not a photo")

    def upsert(marker: str, stage: str, **fields: object) -> None:
        message = template.model_copy(update={"product_id": marker, "image_b64": None, **fields})
        catalog.messages.append((marker.encode(), message.model_dump_json(exclude_none=True).encode()))
        catalog.bad[marker] = stage

    upsert("bad-corrupt-jpeg", "decode", image_b64=base64.b64encode(jpeg[: len(jpeg) // 3]).decode())
    upsert("bad-not-an-image", "decode", image_b64=base64.b64encode(b"hello, I am text").decode())
    upsert("bad-empty", "decode", image_b64="")
    upsert("bad-oversized", "fetch", image_url=base_url + "oversized.jpg")
    upsert("bad-404", "fetch", image_url=base_url + "missing.jpg")
    upsert("bad-text-url", "fetch", image_url=base_url + "notes.txt")
    upsert("bad-internal-address", "fetch", image_url="http://169.254.169.254/latest/meta-data/")
    upsert("bad-inline-too-large", "decode", image_b64=base64.b64encode(bytes(MAX_IMAGE_BYTES + 1)).decode())
    upsert("bad-truncated-header", "decode", image_b64=base64.b64encode(jpeg[:16]).decode())
    upsert("bad-not-base64", "parse", image_b64="this is *not* base64!")
    catalog.messages.append((b"bad-json", b'{"schema_version": 1, "op": "upsert", "product_id": "bad-json"'))
    catalog.bad["bad-json"] = "parse"
    fields = template.model_dump(mode="json", exclude={"image_b64"})
    raw_records = {
        "bad-missing-field": {key: value for key, value in fields.items() if key != "title"},
        "bad-negative-price": fields | {"price": -1},
        "bad-schema-version": fields | {"schema_version": 2},
        "bad-unknown-op": fields | {"op": "merge"},
    }
    for marker, record in raw_records.items():
        catalog.messages.append((marker.encode(), json.dumps(record | {"product_id": marker}).encode()))
        catalog.bad[marker] = "parse"
    catalog.messages.append((b"bad-not-an-object", b'["bad-not-an-object"]'))
    catalog.bad["bad-not-an-object"] = "parse"


def inline_catalog(photos: int, every: int = 5) -> PublishedCatalog:
    """photos distinct photos of clothing-small/test (every 5th, from the 3rd), each one inline upsert message."""
    root = Path(CLOTHING_SMALL) / "test"
    catalog = PublishedCatalog()
    for path in folder_photos(root)[3::every]:
        message = demo_message(path, root, inline=True)
        identity = _item_id(message, path)
        if identity in catalog.good_ids:
            continue
        catalog.messages.append((message.product_id.encode(), message.model_dump_json(exclude_none=True).encode()))
        catalog.good_ids[identity] = path.read_bytes()
        if len(catalog.good_ids) == photos:
            return catalog
    raise ValueError(f"{root} has only {len(catalog.good_ids)} distinct photos at every {every}th; {photos} asked")
