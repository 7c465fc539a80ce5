"""A 2-D picture of the embedding space (t-SNE), coloured by class."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

from embedder.evaluation.protocols import ImageSet  # noqa: E402
from embedder.inference import Embedder  # noqa: E402


def plot_embedding_space(panels: list[tuple[str, Embedder, ImageSet, list[str]]], path: Path, seed: int = 0) -> None:
    """One t-SNE panel per (title, model, images, class names)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 6.5), squeeze=False)
    for ax, (title, embedder, images, class_names) in zip(axes[0], panels, strict=True):
        vectors = embedder.embed(images.images)
        points = TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(vectors)
        cmap = plt.get_cmap("tab10")
        for label, name in enumerate(class_names):
            mask = images.labels == label
            ax.scatter(points[mask, 0], points[mask, 1], s=6, color=cmap(label % 10), label=name)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(markerscale=3, fontsize=8, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample(images: ImageSet, count: int, seed: int = 0) -> ImageSet:
    if len(images.images) <= count:
        return images
    keep = np.sort(np.random.default_rng(seed).choice(len(images.images), count, replace=False))
    return ImageSet([images.images[i] for i in keep], images.labels[keep])
