"""The API's photo folder (no services): every photo the indexer loads can be served by /v1/items/{id}/photo."""

from pathlib import Path

from api.photo_folder import photo_index
from indexer.folder_images import list_class_folder
from indexer.item import photo_sha256
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes


def test_photos_indexed_from_a_folder_are_found_by_their_hash_whatever_their_suffix(tmp_path: Path) -> None:
    for n, name in enumerate(("dress/a.jpg", "dress/b.bmp", "hat/c.GIF", "hat/deeper/d.webp")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(jpeg_bytes(coloured_image(COLOURS[n % len(COLOURS)], seed=n)))
    indexed = {photo_sha256(image.path.read_bytes()): image.path for image in list_class_folder(tmp_path)}
    assert len(indexed) == 4
    assert photo_index(tmp_path) == indexed
