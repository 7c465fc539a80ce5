"""Folders of photos: the one walker and category rule of every catalog folder, training set and photo store.

A photo is a file with one of IMAGE_SUFFIXES anywhere under the root; its category (its class, in training) is
the folder directly under the root that holds it (`<root>/<category>/.../<photo>`, such as clothing-small).
The walker loads without torch (publishing and the API use it); loading the photos as tensors imports it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from embedder.config import ModelConfig
from embedder.errors import DatasetError, EmbedderError
from embedder.preprocessing import decode, to_pixels

if TYPE_CHECKING:
    from embedder.data.dataset import LabelledImages

logger = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


def folder_photos(root: Path) -> list[Path]:
    """The photos under root (any depth), in a stable order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def photo_category(path: Path, root: Path) -> str | None:
    """The category of a photo under root: the folder directly under root that holds it (None: root holds it)."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else None


def list_image_folder(root: Path | str) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, their class index and the sorted class names of a class-folder tree."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    class_names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not class_names:
        raise DatasetError(f"{root} has no class sub-folders (expected <root>/<class>/<image>)")
    labelled = [(path, photo_category(path, root)) for path in folder_photos(root)]
    paths = [path for path, category in labelled if category is not None]
    labels = [class_names.index(category) for _, category in labelled if category is not None]
    if not paths:
        raise DatasetError(f"{root} holds no images")
    return paths, labels, class_names


def load_image_folder(root: Path | str, config: ModelConfig, progress: bool = True, workers: int = 4) -> LabelledImages:
    """Decode every image of the tree at the model's input size; unreadable files are skipped with a warning."""
    import torch

    from embedder.data.dataset import LabelledImages

    paths, labels, class_names = list_image_folder(root)

    def load(path: Path) -> np.ndarray | None:
        try:
            return to_pixels(decode(path.read_bytes()), config)
        except EmbedderError as error:
            logger.warning("skipping %s: %s", path, error)
            return None

    with ThreadPoolExecutor(workers) as pool:
        loaded = list(tqdm(pool.map(load, paths), total=len(paths), desc=f"loading {root}", disable=not progress))
    keep = [i for i, pixels in enumerate(loaded) if pixels is not None]
    return LabelledImages(
        pixels=torch.from_numpy(np.stack([loaded[i] for i in keep])),
        labels=torch.tensor([labels[i] for i in keep], dtype=torch.int64),
        class_names=class_names,
        sources=[str(paths[i]) for i in keep],
        description={"dataset": "folder", "root": str(root), "images": len(keep), "classes": class_names},
    )
