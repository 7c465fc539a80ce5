"""Any folder of class sub-folders of images (`<root>/<class>/<image>`), such as clothing-small."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from embedder.config import ModelConfig
from embedder.data.dataset import LabelledImages
from embedder.errors import DatasetError, EmbedderError
from embedder.preprocessing import decode, to_pixels

logger = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


def list_image_folder(root: Path | str) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, their class index and the sorted class names of a class-folder tree."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    class_names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not class_names:
        raise DatasetError(f"{root} has no class sub-folders (expected <root>/<class>/<image>)")
    paths, labels = [], []
    for index, name in enumerate(class_names):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
                labels.append(index)
    if not paths:
        raise DatasetError(f"{root} holds no images")
    return paths, labels, class_names


def load_image_folder(root: Path | str, config: ModelConfig, progress: bool = True, workers: int = 4) -> LabelledImages:
    """Decode every image of the tree at the model's input size; unreadable files are skipped with a warning."""
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
