"""Words alone with a text encoder configured: q is embedded too, and Milvus's ranking is fused with Solr's."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embedder import CheckpointError, Embedder
from embedder.checkpoint import file_sha256, save_checkpoint
from embedder.text_encoder import TextEncoder, TextEncoderConfig, text_checkpoint
from embedder.training.text_trainer import DescribedPhotos, TextTrainConfig, train_text_encoder
from settings import Settings
from tests.api.conftest import ApiCatalog

pytestmark = pytest.mark.integration
DESCRIBED_AS = {"dress": "dress", "shirt": "shirt", "shoe": "shoes"}  # the test catalog's "shoe" is "shoes"


@pytest.fixture(scope="module")
def text_encoder_path(api_catalog: ApiCatalog, tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small text encoder trained into the tiny model's space on the test catalog's photos."""
    vectors = Embedder.load(tiny_checkpoint).embed([api_catalog.photos[item.id] for item in api_catalog.items])
    categories = [DESCRIBED_AS[item.category] for item in api_catalog.items]
    photos = DescribedPhotos(vectors, categories, [item.colour for item in api_catalog.items], [])
    config = TextTrainConfig(epochs=40, batch_size=12, encoder=TextEncoderConfig(buckets=2048, hidden=32))
    encoder, _ = train_text_encoder(
        photos, replace(config, encoder=replace(config.encoder, embedding_dim=vectors.shape[1]))
    )
    path = tmp_path_factory.mktemp("text") / "text-encoder.pt"
    save_checkpoint(path, text_checkpoint(encoder, image_model=file_sha256(tiny_checkpoint)[:12]))
    return path


@pytest.fixture(scope="module")
def text_client(api_settings: Settings, text_encoder_path: Path) -> Iterator[TestClient]:
    settings = api_settings.changed(embedding={"text_encoder_path": text_encoder_path})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(("words", "category"), [("frock", "dress"), ("sneakers", "shoe")])
def test_a_word_in_no_title_finds_its_category(
    text_client: TestClient, api_catalog: ApiCatalog, words: str, category: str
) -> None:
    assert not any(words in item.title.lower() for item in api_catalog.items)
    response = text_client.post("/v1/search", json={"q": words, "k": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fusion"] == "rrf"
    assert all(hit["text_rank"] is None and hit["image_score"] is not None for hit in body["hits"])
    assert Counter(hit["category"] for hit in body["hits"])[category] >= 6  # chance: 10 / 3
    assert "embed-text;dur=" in response.headers["server-timing"]


def test_title_words_are_fused_with_the_text_embedding(text_client: TestClient, api_catalog: ApiCatalog) -> None:
    response = text_client.post("/v1/search", files=[("q", (None, "linen dress")), ("k", (None, "20"))])
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert response.json()["fusion"] == "rrf"
    assert any(hit["text_rank"] is not None for hit in hits) and any(hit["text_rank"] is None for hit in hits)
    assert hits[0]["category"] == "dress"  # first in Solr's ranking and near the top of the embedding's
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


def test_without_a_text_encoder_words_alone_stay_solr_only(client: TestClient) -> None:
    body = client.post("/v1/search", json={"q": "frock", "k": 10}).json()
    assert body["fusion"] == "text" and body["hits"] == []


def test_a_text_encoder_for_another_image_model_is_refused(api_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    save_checkpoint(path, text_checkpoint(TextEncoder(TextEncoderConfig(buckets=64, hidden=8)), image_model="0" * 12))
    with (
        pytest.raises(CheckpointError, match="another image model|not"),
        TestClient(create_app(api_settings.changed(embedding={"text_encoder_path": path}))),
    ):
        pass
