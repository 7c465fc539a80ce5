"""The photos of a folder to bulk-load, and where their catalog fields come from.

Two layouts:

- a class-folder tree `DIR/<category>/<image>` (such as clothing-small/train) without a metadata file: the
  photos and their categories are those of `embedder.data.image_folder`, the other fields are synthetic
  (`indexer.sample_catalog`);
- any folder plus a metadata file, JSON Lines (`.jsonl`) or CSV (`.csv`), one row per photo: `image` (its path,
  relative to DIR unless absolute) and the fields of `indexer.item.ProductFields` (those of `CatalogItem` but the
  DERIVED_FIELDS, which come from the product, the photo and the embedder; crawled_at in ISO 8601 with a time
  zone, in_stock optional). Only the photos listed are loaded. Every row is checked before anything is loaded.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from embedder.data.image_folder import folder_photos, photo_category
from indexer.errors import ImageFolderError, MetadataFileError
from indexer.item import DERIVED_FIELDS, CatalogItem
from indexer.sample_catalog import sample_item_fields
from indexer.validation import validation_problems

IMAGE_COLUMN = "image"
_PLACEHOLDER = {"id": "0" * 64, "photo_sha256": "0" * 64, "model_version": "metadata-check"}


@dataclass(frozen=True)
class FolderImage:
    """One photo to load: its file and either its catalog fields (metadata file) or its category (folder name)."""

    path: Path
    category: str | None = None
    fields: dict[str, Any] | None = None

    def catalog_fields(self, image: bytes) -> dict[str, Any]:
        """Every catalog field but id and model_version: the given ones, or synthetic ones for the category."""
        if self.fields is not None:
            return self.fields
        return sample_item_fields(image, self.category or "unknown")


def list_class_folder(root: Path) -> list[FolderImage]:
    """The photos of a `root/<category>/<image>` tree, sorted, each with its folder name as category."""
    if not root.is_dir():
        raise ImageFolderError(f"{root} is not a folder")
    categories = {path: photo_category(path, root) for path in folder_photos(root)}
    images = [FolderImage(path=path, category=category) for path, category in categories.items() if category]
    if not images:
        raise ImageFolderError(f"{root} has no <category>/<image> photos; give a metadata file for a flat folder")
    return images


def read_metadata_file(metadata: Path, root: Path) -> list[FolderImage]:
    """The photos listed by a JSON Lines or CSV metadata file; MetadataFileError names the first bad row."""
    images = [_folder_image(row, root, f"{metadata}:{line}") for line, row in _rows(metadata)]
    if not images:
        raise MetadataFileError(f"{metadata} lists no photos")
    return images


def _rows(metadata: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of each row of the file, by its suffix (a CSV row's values are all text)."""
    suffix = metadata.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise MetadataFileError(f"{metadata}: expected a .jsonl or .csv metadata file")
    try:
        with metadata.open(newline="", encoding="utf-8") as file:
            if suffix == ".csv":
                reader = csv.DictReader(file)
                for row in reader:  # empty cells mean "not given", so optional fields keep their defaults
                    yield reader.line_num, {k: v for k, v in row.items() if k is not None and v not in ("", None)}
                return
            for line, text in enumerate(file, start=1):
                if text.strip():
                    yield line, _json_object(text, f"{metadata}:{line}")
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise MetadataFileError(f"{metadata}: cannot read: {error}") from error


def _json_object(text: str, where: str) -> dict[str, Any]:
    """One JSON Lines row, which must be an object."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise MetadataFileError(f"{where}: not valid JSON: {error}") from error
    if not isinstance(row, dict):
        raise MetadataFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


def _folder_image(row: dict[str, Any], root: Path, where: str) -> FolderImage:
    """The photo of one row, its fields checked against CatalogItem."""
    fields = dict(row)
    image = fields.pop(IMAGE_COLUMN, None)
    if not image:
        raise MetadataFileError(f"{where}: no '{IMAGE_COLUMN}' (the photo's path, relative to {root})")
    derived = [name for name in DERIVED_FIELDS if name in fields]
    if derived:
        raise MetadataFileError(f"{where}: {', '.join(derived)} must not be given (derived from the photo and model)")
    try:
        if all(isinstance(value, str) for value in fields.values()):  # a CSV row (or all-text JSON): text forms
            item = CatalogItem.model_validate_strings({**fields, **_PLACEHOLDER})
        else:  # a JSON row: each field of its JSON type, as in the ingest message (a price is a number)
            item = CatalogItem.model_validate({**fields, **_PLACEHOLDER})
    except ValidationError as error:
        problems = validation_problems(error.errors(), subject="row", most=None)
        raise MetadataFileError(f"{where}: not a valid catalog item: {problems}") from error
    return FolderImage(path=root / str(image), fields=item.model_dump(exclude=set(DERIVED_FIELDS)))
