"""Labels annotators accepted (the labels file of the annotation page) applied to a training set.

A record is one JSON line with a `category` and the photo it names: `photo_sha256` (the SHA-256 of the photo's
bytes), or else `item_id` (records written before items had their own ids, when an item id was the photo's
SHA-256). The last record of a photo wins. Images are matched by the SHA-256 of their file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from embedder.data.dataset import LabelledImages


def read_labels(path: Path | str) -> dict[str, str]:
    """Photo SHA-256 -> category, from a labels file (JSON lines)."""
    labels: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            labels[record.get("photo_sha256") or record["item_id"]] = record["category"]
    return labels


def relabel(images: LabelledImages, labels: dict[str, str]) -> tuple[LabelledImages, int]:
    """The images with the labels file's categories (new class names appended); and how many changed."""
    class_names = list(images.class_names)
    new_labels = images.labels.clone()
    changed = 0
    for index, source in enumerate(images.sources):
        category = labels.get(hashlib.sha256(Path(source).read_bytes()).hexdigest())
        if category is None:
            continue
        if category not in class_names:
            class_names.append(category)
        new_labels[index] = class_names.index(category)
        changed += int(new_labels[index] != images.labels[index])
    description = {**images.description, "classes": class_names, "relabelled": changed}
    relabelled = LabelledImages(images.pixels, new_labels.to(torch.int64), class_names, images.sources, description)
    return relabelled, changed
