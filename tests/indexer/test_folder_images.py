"""Reading the photos of a folder and their metadata file (no services)."""

import json
from pathlib import Path

import pytest

from indexer.errors import ImageFolderError, MetadataFileError
from indexer.folder_images import list_class_folder, read_metadata_file

ROW = {
    "image": "a.jpg",
    "product_id": "P1",
    "title": "Shirt",
    "brand": "Acme",
    "category": "shirt",
    "colour": "red",
    "price": "12.50",
    "currency": "EUR",
    "product_url": "https://shop.example/p/1",
    "image_url": "https://shop.example/i/1.jpg",
    "source_site": "shop.example",
    "crawled_at": "2026-03-04T05:06:07+01:00",
}


def write_jsonl(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_class_folders_give_the_category(tmp_path: Path) -> None:
    for name in ("shoes", "hat"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.jpg").write_bytes(b"x")
    (tmp_path / "hat" / "notes.txt").write_text("not a photo")
    images = list_class_folder(tmp_path)
    assert [(image.path.name, image.category) for image in images] == [("1.jpg", "hat"), ("1.jpg", "shoes")]


def test_a_flat_folder_without_metadata_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1.jpg").write_bytes(b"x")
    with pytest.raises(ImageFolderError, match="metadata file"):
        list_class_folder(tmp_path)


def test_csv_rows_are_typed_and_optional_cells_may_be_empty(tmp_path: Path) -> None:
    header = [*ROW, "in_stock"]
    metadata = tmp_path / "m.csv"
    metadata.write_text(",".join(header) + "\n" + ",".join([*map(str, ROW.values()), ""]) + "\n")
    [image] = read_metadata_file(metadata, tmp_path)
    assert image.path == tmp_path / "a.jpg"
    assert image.fields is not None
    assert image.fields["price"] == 12.5 and image.fields["in_stock"] is True
    assert image.fields["crawled_at"].isoformat() == "2026-03-04T04:06:07+00:00"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**ROW, "price": -1}, r"m.jsonl:2: not a valid catalog item: price"),
        ({k: v for k, v in ROW.items() if k != "title"}, r"m.jsonl:2: .*title: Field required"),
        ({k: v for k, v in ROW.items() if k != "image"}, r"m.jsonl:2: no 'image'"),
        ({**ROW, "id": "abc"}, r"m.jsonl:2: id must not be given"),
        ({**ROW, "size": "XL"}, r"m.jsonl:2: .*size: Extra inputs are not permitted"),
        ([1, 2], r"m.jsonl:2: expected a JSON object"),
    ],
)
def test_a_bad_row_is_named_with_its_line(tmp_path: Path, row: object, message: str) -> None:
    metadata = write_jsonl(tmp_path / "m.jsonl", ROW, row)
    with pytest.raises(MetadataFileError, match=message):
        read_metadata_file(metadata, tmp_path)


def test_broken_json_and_unknown_formats_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "m.jsonl"
    broken.write_text('{"image": "a.jpg",\n')
    with pytest.raises(MetadataFileError, match="m.jsonl:1: not valid JSON"):
        read_metadata_file(broken, tmp_path)
    with pytest.raises(MetadataFileError, match=".jsonl or .csv"):
        read_metadata_file(tmp_path / "m.xlsx", tmp_path)
    with pytest.raises(MetadataFileError, match="cannot read"):
        read_metadata_file(tmp_path / "missing.csv", tmp_path)
