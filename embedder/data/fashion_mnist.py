"""Fashion-MNIST from the idx files installed by Debian's `dataset-fashion-mnist` package."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

from embedder.data.dataset import LabelledImages
from embedder.errors import DatasetError

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = [
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]  # fmt: skip
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped): a big-endian header of dimensions, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path}: not an unsigned-byte idx file")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(split: str, root: Path | str = DEFAULT_ROOT) -> LabelledImages:
    """The `train` (60,000) or `test` (10,000) split as 1x28x28 uint8 images."""
    root = Path(root)
    if split not in FILES:
        raise DatasetError(f"unknown Fashion-MNIST split {split!r}; use one of {sorted(FILES)}")
    image_file, label_file = (root / name for name in FILES[split])
    if not image_file.exists():
        raise DatasetError(
            f"Fashion-MNIST not found in {root}: install it with `apt-get install dataset-fashion-mnist`"
        )
    images = read_idx(image_file)  # (N, 28, 28)
    labels = read_idx(label_file)  # (N,)
    return LabelledImages(
        pixels=torch.from_numpy(images.copy()).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=list(CLASS_NAMES),
        sources=[f"fashion-mnist/{split}:{i}" for i in range(len(labels))],
        description={"dataset": "fashion-mnist", "split": split, "root": str(root), "images": len(labels)},
    )
