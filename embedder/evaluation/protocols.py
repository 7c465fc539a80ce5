"""The evaluation protocols: who queries, what the gallery is, and what counts as relevant."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from embedder.data.fashion_mnist import load_fashion_mnist
from embedder.data.image_folder import list_image_folder
from embedder.evaluation.metrics import retrieval_metrics
from embedder.evaluation.representations import Representation
from embedder.evaluation.shopper_photo import shopper_photo

logger = logging.getLogger(__name__)


@dataclass
class ImageSet:
    """PIL images with one label each (a class, or an instance id)."""

    images: list[Image.Image]
    labels: np.ndarray


@dataclass
class Protocol:
    """Queries against a gallery; `leave_one_out` when the queries are the gallery itself."""

    name: str
    description: str
    queries: ImageSet
    gallery: ImageSet
    leave_one_out: bool = False

    def run(self, representation: Representation, batch: int = 512, progress: bool = True) -> dict[str, float]:
        def embed(images: list[Image.Image], what: str) -> np.ndarray:
            chunks = range(0, len(images), batch)
            desc = f"{self.name}: {representation.name} {what}"
            return np.concatenate(
                [
                    representation.embed(images[i : i + batch])
                    for i in tqdm(chunks, desc=desc, disable=not progress, leave=False)
                ]
            )

        gallery = embed(self.gallery.images, "gallery")
        queries = gallery if self.leave_one_out else embed(self.queries.images, "queries")
        return retrieval_metrics(queries, self.queries.labels, gallery, self.gallery.labels, self.leave_one_out)


def fashion_mnist_images(split: str) -> ImageSet:
    data = load_fashion_mnist(split)
    pixels = data.pixels.numpy()[:, 0]  # (N, 28, 28)
    return ImageSet([Image.fromarray(p, mode="L") for p in pixels], data.labels.numpy())


def folder_images(root: Path) -> ImageSet:
    paths, labels, _ = list_image_folder(root)
    images = []
    for path in tqdm(paths, desc=f"reading {root}", leave=False):
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return ImageSet(images, np.array(labels))


def fashion_mnist_protocols() -> list[Protocol]:
    test, train = fashion_mnist_images("test"), fashion_mnist_images("train")
    return [
        Protocol(
            "fashion-mnist-loo",
            "Fashion-MNIST test: each of 10,000 queries against the other 9,999",
            test,
            test,
            True,
        ),
        Protocol(
            "fashion-mnist-test-train",
            "Fashion-MNIST: 10,000 test queries against the 60,000 train images",
            test,
            train,
        ),
    ]


def catalog_protocols(root: Path) -> list[Protocol]:
    test, train = folder_images(root / "test"), folder_images(root / "train")
    # Instance level: a distorted "shopper photo" of each test item must find the original among every
    # catalog photo (train + test); only the original is relevant.
    n_train = len(train.images)
    gallery = ImageSet(train.images + test.images, np.arange(n_train + len(test.images)))
    shots = ImageSet(
        [shopper_photo(image, seed=i) for i, image in enumerate(test.images)],
        n_train + np.arange(len(test.images)),
    )
    return [
        Protocol(
            "catalog-test-train",
            "clothing-small: 372 test queries against the 3,068 train photos (class level)",
            test,
            train,
        ),
        Protocol(
            "catalog-shopper-photo",
            "clothing-small: a shopper-style photo of each test item (new crop, angle, light, camera, JPEG) "
            "against all 3,440 catalog photos; only the original is relevant (instance level)",
            shots,
            gallery,
        ),
    ]
