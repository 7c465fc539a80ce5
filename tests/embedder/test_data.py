import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from embedder.config import ModelConfig
from embedder.data.fashion_mnist import load_fashion_mnist, read_idx
from embedder.data.image_folder import list_image_folder, load_image_folder
from embedder.errors import DatasetError
from tests.synthetic import coloured_image


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reader_on_generated_idx_files(tmp_path: Path) -> None:
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 0, 3]))
    data = load_fashion_mnist("test", tmp_path)
    assert data.pixels.shape == (3, 1, 28, 28)
    assert data.labels.tolist() == [9, 0, 3]
    assert np.array_equal(data.pixels[1, 0].numpy(), images[1])
    assert data.class_names[9] == "ankle boot"


def test_idx_reader_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x02\x03\x04" + b"\x00" * 8)
    with pytest.raises(DatasetError):
        read_idx(path)


def test_missing_fashion_mnist_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path)


def test_image_folder_loads_classes_and_skips_broken_files(tmp_path: Path) -> None:
    for name, colour in [("hat", (200, 0, 0)), ("shoes", (0, 0, 200))]:
        (tmp_path / name).mkdir()
        for i in range(3):
            coloured_image(colour, seed=i).save(tmp_path / name / f"{i}.jpg")
    (tmp_path / "shoes" / "broken.jpg").write_bytes(b"nope")
    (tmp_path / "shoes" / "notes.txt").write_text("not an image")
    data = load_image_folder(tmp_path, ModelConfig(), progress=False)
    assert data.class_names == ["hat", "shoes"]
    assert data.pixels.shape == (6, 3, 64, 48)
    assert sorted(data.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert len(list_image_folder(tmp_path)[0]) == 7  # broken.jpg is listed, then skipped on load


def test_image_folder_without_classes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no class sub-folders"):
        list_image_folder(tmp_path)
