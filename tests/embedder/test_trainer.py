"""The training loop on tiny synthetic data: every loss runs, checkpoints hold what they promise, resume works."""

from pathlib import Path

import pytest
import torch

from embedder.checkpoint import load_checkpoint
from embedder.config import LossWeights, TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.training import Trainer
from tests.synthetic import tiny_model_config


def test_checkpoint_holds_weights_configs_data_step_and_metrics(tiny_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    assert checkpoint["epoch"] == 2 and checkpoint["step"] > 0
    assert checkpoint["model_config"]["embedding_dim"] == 16
    assert checkpoint["train_config"]["epochs"] == 2
    assert checkpoint["data"]["dataset"] == "synthetic"
    assert {"triplet", "instance", "adversarial", "perceptual", "reconstruction", "disc"} <= set(checkpoint["metrics"])
    assert any(key.startswith("decoder.") for key in checkpoint["generator"])
    assert checkpoint["discriminator"]


def test_resume_continues_from_the_saved_epoch(
    tmp_path: Path, synthetic_images: LabelledImages, tiny_checkpoint: Path
) -> None:
    path = tmp_path / "resumed.pt"
    path.write_bytes(tiny_checkpoint.read_bytes())
    same = Trainer.resume(path)
    assert same.scheduler is not None and same.scheduler.last_epoch == same.step  # the LR schedule goes on
    trainer = Trainer.resume(path, epochs=3)
    before = trainer.step
    trainer.fit(synthetic_images, path, progress=False)
    assert trainer.scheduler is not None and trainer.scheduler.last_epoch == trainer.step  # new schedule, same step
    checkpoint = load_checkpoint(path)
    assert checkpoint["epoch"] == 3
    assert checkpoint["step"] > before
    assert len(checkpoint["history"]) == 3


@pytest.mark.parametrize(
    ("source", "expected", "absent"),
    [
        ("supervised", {"triplet"}, {"instance"}),
        ("unsupervised", {"instance"}, {"triplet"}),
        ("semi", {"triplet", "instance"}, set()),
    ],
)
def test_triplet_sources(synthetic_images: LabelledImages, source: str, expected: set[str], absent: set[str]) -> None:
    config = TrainConfig(triplet_source=source, classes_per_batch=3, samples_per_class=8, threads=1)  # type: ignore[arg-type]
    trainer = Trainer(tiny_model_config(), config)
    batch = _batch(synthetic_images)
    logs = trainer.train_step(*batch)
    assert expected <= set(logs) and not (absent & set(logs))


def test_semi_supervised_hides_labels_of_the_unlabelled_share(synthetic_images: LabelledImages) -> None:
    config = TrainConfig(triplet_source="semi", labelled_fraction=0.25, threads=1)
    mask = Trainer(tiny_model_config(), config).labelled_mask(synthetic_images)
    assert 0 < int(mask.sum()) < len(synthetic_images)


def test_an_unlabelled_class_never_gives_its_label(synthetic_images: LabelledImages) -> None:
    config = TrainConfig(triplet_source="semi", unlabelled_classes=("green",), threads=1)
    mask = Trainer(tiny_model_config(), config).labelled_mask(synthetic_images)
    green = synthetic_images.labels == synthetic_images.class_names.index("green")
    assert not mask[green].any() and mask[~green].all()


def test_zero_weights_switch_the_gan_off(synthetic_images: LabelledImages) -> None:
    weights = LossWeights(adversarial=0, perceptual=0, reconstruction=0)
    config = TrainConfig(classes_per_batch=3, samples_per_class=8, threads=1, loss_weights=weights)
    trainer = Trainer(tiny_model_config(), config)
    assert not trainer.uses_decoder
    logs = trainer.train_step(*_batch(synthetic_images))
    assert "disc" not in logs and "reconstruction" not in logs


def test_the_generator_loss_goes_down(synthetic_images: LabelledImages) -> None:
    torch.manual_seed(0)
    config = TrainConfig(classes_per_batch=3, samples_per_class=8, threads=1, lr=3e-3)
    trainer = Trainer(tiny_model_config(), config)
    batch = _batch(synthetic_images)
    first = trainer.train_step(*batch)["reconstruction"]
    for _ in range(25):
        last = trainer.train_step(*batch)["reconstruction"]
    assert last < first


def _batch(images: LabelledImages) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    index = torch.arange(len(images))
    return images.pixels, images.pixels.flip(-1), images.labels, index
