from pathlib import Path

import numpy as np
import pytest

from embedder import CheckpointError, Embedder, EmptyInputError, ImageDecodeError
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes


def test_embed_returns_unit_float32_rows(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint, batch_size=4)
    images = [coloured_image(COLOURS[i % 3], seed=500 + i) for i in range(10)]
    vectors = embedder.embed(images)
    assert vectors.shape == (10, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bytes_and_pil_give_the_same_vectors(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint)
    image = coloured_image(COLOURS[0], seed=42)
    from_pil = embedder.embed([image])
    from_png = embedder.embed([_png(image)])
    assert np.allclose(from_pil, from_png, atol=1e-5)


def test_batching_does_not_change_results(tiny_checkpoint: Path) -> None:
    images = [jpeg_bytes(coloured_image(COLOURS[i % 3], seed=600 + i)) for i in range(9)]
    one_by_one = np.concatenate([Embedder.load(tiny_checkpoint, batch_size=1).embed([img]) for img in images])
    batched = Embedder.load(tiny_checkpoint, batch_size=4).embed(images)
    assert np.allclose(one_by_one, batched, atol=1e-5)


def test_trained_model_separates_the_classes(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint)
    vectors = embedder.embed([coloured_image(colour, seed=900 + i) for i, colour in enumerate(COLOURS)])
    same = embedder.embed([coloured_image(COLOURS[0], seed=999)])[0]
    scores = vectors @ same
    assert int(np.argmax(scores)) == 0


def test_clear_errors_for_bad_input(tiny_checkpoint: Path) -> None:
    embedder = Embedder.load(tiny_checkpoint)
    with pytest.raises(EmptyInputError):
        embedder.embed([])
    with pytest.raises(EmptyInputError):
        embedder.embed([b""])
    with pytest.raises(ImageDecodeError):
        embedder.embed([jpeg_bytes(coloured_image(COLOURS[0], 1)), b"GIF89a-garbage"])


def test_version_is_the_checkpoint_hash_prefix(tiny_checkpoint: Path) -> None:
    from embedder.checkpoint import file_sha256

    assert Embedder.load(tiny_checkpoint).version == file_sha256(tiny_checkpoint)[:12]


def test_missing_or_foreign_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        Embedder.load(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not torch")
    with pytest.raises(CheckpointError, match="cannot read"):
        Embedder.load(junk)


def _png(image: object) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # type: ignore[attr-defined]
    return buffer.getvalue()
