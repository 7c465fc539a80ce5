"""The two checkpoints shipped in models/ load with the public API and beat raw pixels on real photos."""

from pathlib import Path

import numpy as np
import pytest

from embedder import Embedder
from embedder.data.image_folder import list_image_folder
from embedder.evaluation.metrics import retrieval_metrics
from embedder.evaluation.representations import RawPixels

MODELS = Path(__file__).resolve().parents[2] / "models"
CATALOG = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "clothing-small"


@pytest.mark.parametrize(("name", "channels"), [("fashion-mnist.pt", 1), ("catalog.pt", 3)])
def test_shipped_checkpoint_loads(name: str, channels: int) -> None:
    embedder = Embedder.load(MODELS / name)
    assert embedder.config.channels == channels
    assert embedder.dim == 128
    assert embedder.info["epoch"] == embedder.info["train_config"]["epochs"]  # trained to the end


@pytest.mark.skipif(not CATALOG.is_dir(), reason="needs ../shared/datasets/clothing-small beside the checkout")
def test_catalog_model_beats_raw_pixels_on_real_photos() -> None:
    from PIL import Image

    def sample(split: str, every: int) -> tuple[list[Image.Image], np.ndarray]:
        paths, labels, _ = list_image_folder(CATALOG / split)
        keep = range(0, len(paths), every)
        return [Image.open(paths[i]).convert("RGB") for i in keep], np.array([labels[i] for i in keep])

    queries, q_labels = sample("test", 2)
    gallery, g_labels = sample("train", 3)
    model = Embedder.load(MODELS / "catalog.pt")
    ours = retrieval_metrics(model.embed(queries), q_labels, model.embed(gallery), g_labels)
    pixels = RawPixels(32, grey=False)
    baseline = retrieval_metrics(pixels.embed(queries), q_labels, pixels.embed(gallery), g_labels)
    assert ours["R@1"] > baseline["R@1"] + 0.15
    assert ours["mAP@all"] > baseline["mAP@all"] + 0.1


def test_shipped_text_encoder_maps_into_the_catalog_model() -> None:
    from embedder.text_encoder import TextEmbedder

    path = MODELS / "text-encoder.pt"
    text = TextEmbedder.load(path)
    assert path.stat().st_size < 5_000_000
    assert text.image_model == Embedder.load(MODELS / "catalog.pt").version  # trained for the shipped embedder
    assert text.dim == 128


@pytest.mark.skipif(not CATALOG.is_dir(), reason="needs ../shared/datasets/clothing-small beside the checkout")
def test_shipped_text_encoder_finds_held_out_photos_by_a_synonym() -> None:
    from embedder.text_encoder import TextEmbedder

    paths, labels, names = list_image_folder(CATALOG / "test")
    gallery = Embedder.load(MODELS / "catalog.pt").embed([path.read_bytes() for path in paths])
    text = TextEmbedder.load(MODELS / "text-encoder.pt")
    for query, category in [("sneakers", "shoes"), ("jeans", "pants"), ("frock", "dress")]:
        top = np.argsort(-(gallery @ text.embed([query])[0]))[:10]
        assert sum(names[labels[i]] == category for i in top) >= 5, query
