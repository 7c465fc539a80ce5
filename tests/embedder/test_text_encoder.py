"""The text encoder: hashed features, unit vectors, checkpoint round trip, and that training aligns words."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from embedder.checkpoint import save_checkpoint
from embedder.descriptions import DESCRIPTION_WORDS, describe, wrong_description
from embedder.errors import CheckpointError, EmptyInputError
from embedder.text_encoder import TextEmbedder, TextEncoder, TextEncoderConfig, features, text_checkpoint, words
from embedder.training.text_trainer import DescribedPhotos, TextTrainConfig, train_text_encoder

SMALL = TextEncoderConfig(buckets=1024, hidden=16, embedding_dim=8)
MODELS = Path(__file__).resolve().parents[2] / "models"


def test_words_and_features() -> None:
    assert words("Blue T-shirt, size 40") == ["blue", "t", "shirt", "size", "40"]
    assert features("black sneakers", SMALL) == features("black sneakers", SMALL)  # stable hashing
    shared = set(features("sneaker", SMALL)) & set(features("sneakers", SMALL))
    assert len(shared) >= 5  # the character 3-grams of "sneaker" (all but the last)
    assert features("", SMALL) == []


def test_encoder_gives_unit_rows() -> None:
    vectors = TextEncoder(SMALL).encode(["red frock", "", "jeans"])
    assert vectors.shape == (3, 8)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    encoder = TextEncoder(SMALL).eval()
    save_checkpoint(tmp_path / "text.pt", text_checkpoint(encoder, image_model="abc"))
    loaded = TextEmbedder.load(tmp_path / "text.pt")
    assert loaded.image_model == "abc" and loaded.dim == 8
    np.testing.assert_allclose(loaded.embed(["blue tee"]), TextEmbedder(encoder).embed(["blue tee"]), atol=1e-6)
    with pytest.raises(EmptyInputError):
        loaded.embed([])


def test_an_image_checkpoint_is_no_text_encoder() -> None:
    with pytest.raises(CheckpointError):
        TextEmbedder.load(MODELS / "catalog.pt")


def test_descriptions_use_the_category_words() -> None:
    rng = random.Random(0)
    for _ in range(50):
        text = describe("dress", "red", rng)
        assert any(word in text for word in DESCRIPTION_WORDS["dress"])
        assert "red" in text or "{" not in text
        wrong = wrong_description("dress", "red", rng)
        assert not any(word in wrong for word in DESCRIPTION_WORDS["dress"])


@pytest.mark.slow
def test_training_pulls_descriptions_to_their_photos() -> None:
    # Two categories whose photos sit around two different directions of an 8-d image space.
    generator = np.random.default_rng(0)
    centres = {"dress": np.eye(8)[0], "shoes": np.eye(8)[1]}
    categories = ["dress", "shoes"] * 40
    vectors = np.stack([centres[c] + 0.1 * generator.standard_normal(8) for c in categories]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    photos = DescribedPhotos(vectors, categories, ["black"] * 80, [""] * 80)
    encoder, history = train_text_encoder(photos, TextTrainConfig(epochs=40, batch_size=16, encoder=SMALL))
    assert history[-1]["loss"] < history[0]["loss"]
    frock, sneakers = TextEmbedder(encoder).embed(["frock", "sneakers"])
    assert frock @ centres["dress"] > frock @ centres["shoes"] + 0.2
    assert sneakers @ centres["shoes"] > sneakers @ centres["dress"] + 0.2
