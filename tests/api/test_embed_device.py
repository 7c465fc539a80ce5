"""The API embeds where CBIR_EMBEDDING_DEVICE says; a device this machine lacks stops the start-up clearly."""

import pytest
import torch
from fastapi.testclient import TestClient

from api.app import create_app
from embedder.errors import DeviceUnavailableError
from settings import Settings


def test_the_embedder_runs_on_the_configured_device(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings.changed(embedding={"device": "auto"}))) as client:
        embedder = client.app.state.runtime.embedder  # type: ignore[attr-defined]
        assert embedder.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: cuda is available")
def test_asking_for_a_missing_gpu_fails_at_start_up(api_settings: Settings) -> None:
    app = create_app(api_settings.changed(embedding={"device": "cuda"}))
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"), TestClient(app):
        pass
