"""From a preset name to a trained checkpoint: load the data, hold out a validation set, fit."""

from __future__ import annotations

import logging
from pathlib import Path

from embedder.config import ModelConfig, TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.data.fashion_mnist import load_fashion_mnist
from embedder.data.image_folder import load_image_folder
from embedder.data.labels import read_labels, relabel
from embedder.evaluation.metrics import retrieval_metrics
from embedder.inference import Embedder
from embedder.models import Generator
from embedder.training.trainer import Trainer, Validator

logger = logging.getLogger(__name__)
FASHION_MNIST_VALIDATION = 5000  # the last 5,000 train images are held out for validation


def make_validator(queries: LabelledImages, gallery: LabelledImages | None) -> Validator:
    """R@1 and mAP@all of `queries` against `gallery` (or leave-one-out when gallery is None)."""

    def validate(generator: Generator) -> dict[str, float]:
        embedder = Embedder(generator.config, generator.encoder, batch_size=256)  # shares the weights, no copy
        q = embedder.embed_pixels(queries.pixels)
        g = q if gallery is None else embedder.embed_pixels(gallery.pixels)
        g_labels = queries.labels if gallery is None else gallery.labels
        metrics = retrieval_metrics(q, queries.labels.numpy(), g, g_labels.numpy(), leave_one_out=gallery is None)
        return {"val_R@1": metrics["R@1"], "val_mAP@all": metrics["mAP@all"]}

    return validate


def load_training_data(model_config: ModelConfig, config: TrainConfig) -> tuple[LabelledImages, Validator]:
    if config.dataset == "fashion-mnist":
        data = load_fashion_mnist("train", config.data_path or "/usr/share/datasets/fashion-mnist")
        cut = len(data) - FASHION_MNIST_VALIDATION
        train = LabelledImages(
            data.pixels[:cut],
            data.labels[:cut],
            data.class_names,
            data.sources[:cut],
            {**data.description, "images": cut, "held_out_for_validation": FASHION_MNIST_VALIDATION},
        )
        held_out = LabelledImages(data.pixels[cut:], data.labels[cut:], data.class_names)
        return train.subset(config.limit), make_validator(held_out, None)
    root = Path(config.data_path)
    train = load_image_folder(root, model_config).subset(config.limit)
    if config.labels_path:
        train, changed = relabel(train, read_labels(config.labels_path))
        logger.info("%s relabelled %d training images; classes %s", config.labels_path, changed, train.class_names)
    validation_root = root.parent / "validation"
    if validation_root.is_dir():
        return train, make_validator(load_image_folder(validation_root, model_config), train)
    return train, make_validator(train.subset(500), None)


def train(
    model_config: ModelConfig, config: TrainConfig, out: Path, resume: bool = False, progress: bool = True
) -> Trainer:
    """Train (or resume from `out` when it exists and `resume` is set) and leave the checkpoint at `out`."""
    if resume and out.exists():
        trainer = Trainer.resume(out, epochs=config.epochs)
        logger.info("resuming %s at epoch %d of %d", out, trainer.epoch, trainer.config.epochs)
    else:
        trainer = Trainer(model_config, config)
    images, validate = load_training_data(trainer.model_config, trainer.config)
    logger.info("training on %d images, %s", len(images), images.description)
    trainer.fit(images, out, validate, progress)
    return trainer
