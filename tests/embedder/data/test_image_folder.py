"""The one photo-folder walker and category rule: every suffix, any depth, the folder under the root."""

from pathlib import Path

from embedder.data.image_folder import folder_photos, list_image_folder, photo_category
from indexer.folder_images import list_class_folder
from ingest.folder_catalog import FLAT_FOLDER_CATEGORY, demo_message
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes


def _tree(root: Path) -> Path:
    """dress/a.jpg, dress/summer/b.BMP, hat/c.gif, flat.png, and things that are not photos."""
    photo = jpeg_bytes(coloured_image(COLOURS[0], seed=1))
    for name in ("dress/a.jpg", "dress/summer/b.BMP", "hat/c.gif", "flat.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(photo)
    (root / "hat" / "notes.txt").write_text("not a photo")
    (root / "hat" / "folder.jpg").mkdir()
    return root


def test_every_photo_suffix_at_any_depth_in_a_stable_order(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    names = [path.relative_to(root).as_posix() for path in folder_photos(root)]
    assert names == ["dress/a.jpg", "dress/summer/b.BMP", "flat.png", "hat/c.gif"]


def test_the_category_is_the_folder_directly_under_the_root(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert [photo_category(path, root) for path in folder_photos(root)] == ["dress", "dress", None, "hat"]


def test_training_indexing_and_publishing_agree_on_photos_and_categories(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    paths, labels, classes = list_image_folder(root)
    trained = [(path, classes[label]) for path, label in zip(paths, labels, strict=True)]
    indexed = [(image.path, image.category) for image in list_class_folder(root)]
    published = [(path, demo_message(path, root).category) for path, _ in trained]
    assert trained == indexed == published == [
        (root / "dress/a.jpg", "dress"), (root / "dress/summer/b.BMP", "dress"), (root / "hat/c.gif", "hat"),
    ]  # fmt: skip
    assert demo_message(root / "flat.png", root).category == FLAT_FOLDER_CATEGORY
