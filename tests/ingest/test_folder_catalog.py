import base64
from pathlib import Path

from embedder.data.image_folder import folder_photos
from indexer.sample_catalog import sample_item_fields
from ingest.folder_catalog import demo_message
from ingest.message import UpsertMessage
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes


def folder_messages(root: Path) -> list[UpsertMessage]:
    """The message of every photo under root."""
    return [demo_message(path, root) for path in folder_photos(root)]


def _catalog(root: Path) -> Path:
    for category, colour in zip(("dress", "hat"), COLOURS, strict=False):
        (root / category).mkdir(parents=True)
        for i in range(2):
            (root / category / f"{i}.jpg").write_bytes(jpeg_bytes(coloured_image(colour, seed=i)))
    (root / "hat" / "notes.txt").write_text("not a photo")
    return root


def test_metadata_is_deterministic_and_valid(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    first, second = list(folder_messages(root)), list(folder_messages(root))
    assert first == second and len(first) == 4
    assert [m.category for m in first] == ["dress", "dress", "hat", "hat"]
    assert len({m.product_id for m in first}) == 4
    assert first[0].image_url == "https://img.cbir-demo.example/dress/0.jpg"
    assert base64.b64decode(first[0].image_b64 or "") == (root / "dress" / "0.jpg").read_bytes()


def test_url_only_messages(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    message = demo_message(folder_photos(root)[0], root, "http://127.0.0.1:8000/", inline=False)
    assert message.image_b64 is None and message.image_url == "http://127.0.0.1:8000/dress/0.jpg"


def test_fields_are_those_cbir_index_loads(tmp_path: Path) -> None:
    """One generator of demo metadata: a published photo and a bulk-loaded one get the same catalog fields."""
    root = _catalog(tmp_path)
    path = folder_photos(root)[0]
    published = demo_message(path, root).model_dump(exclude={"schema_version", "op", "image_b64", "image_url"})
    loaded = sample_item_fields(path.read_bytes(), "dress")
    assert published == {k: v for k, v in loaded.items() if k != "image_url"}
