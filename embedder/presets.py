"""The two shipped recipes: `fashion-mnist` (grey 28x28) and `catalog` (colour product photos)."""

from __future__ import annotations

from embedder.config import ModelConfig, TrainConfig
from embedder.errors import DatasetError

CATALOG_ROOT = "../shared/datasets/clothing-small"


def model_config(preset: str) -> ModelConfig:
    if preset == "fashion-mnist":
        return ModelConfig(
            channels=1,
            image_height=28,
            image_width=28,
            widths=(16, 32, 64, 128),
            recon_height=24,
            recon_width=24,
            decoder_widths=(64, 48, 32, 16),
            disc_widths=(32, 64, 128),
            mean=(0.29,),
            std=(0.35,),
        )
    if preset == "catalog":
        return ModelConfig()
    raise DatasetError(f"unknown preset {preset!r}: use fashion-mnist or catalog")


def train_config(preset: str) -> TrainConfig:
    if preset == "fashion-mnist":
        return TrainConfig(dataset="fashion-mnist", epochs=6, lr=3e-3)
    if preset == "catalog":
        return TrainConfig(dataset="folder", data_path=f"{CATALOG_ROOT}/train", epochs=40)
    raise DatasetError(f"unknown preset {preset!r}: use fashion-mnist or catalog")
