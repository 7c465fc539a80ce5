"""A second look at the first-stage candidates: structural similarity (SSIM) of small grey thumbnails.

SSIM (Wang et al., 2004) compares local means, contrasts and structure in 7x7 windows; here between the query
and each candidate at thumbnail size (THUMBNAIL_SIZE, grey), the size a store could keep beside the metadata.
Two orders: `ssim` (by SSIM alone) and `ssim_cosine` (SSIM divided by the embedding's cosine distance, so a
candidate must look alike in both). numpy and PIL only.
"""

import base64
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from embedder.preprocessing import ImageInput, decode

THUMBNAIL_SIZE = (24, 32)  # (width, height)
WINDOW = 7
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilisers for 8-bit images
# `learned` is the pairwise scorer of embedder/pair_scorer.py (it needs the candidates' vectors too).
Reranker = Literal["none", "ssim", "ssim_cosine", "learned"]


def grey_thumbnail(image: ImageInput) -> NDArray[np.float32]:
    """The photo as a THUMBNAIL_SIZE grey image, values 0..255; (H, W)."""
    small = decode(image).convert("L").resize(THUMBNAIL_SIZE, Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)


def thumbnail_text(image: ImageInput) -> str:
    """The grey thumbnail as base64 of its bytes: how an item stores it (`CatalogItem.thumbnail`)."""
    return base64.b64encode(grey_thumbnail(image).astype(np.uint8).tobytes()).decode()


def thumbnail_from_text(text: str) -> NDArray[np.float32]:
    """The (H, W) grey thumbnail of thumbnail_text, values 0..255."""
    width, height = THUMBNAIL_SIZE
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8).reshape(height, width).astype(np.float32)


def ssim(query: NDArray[np.float32], candidates: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mean SSIM of a (H, W) thumbnail with each of (K, H, W) thumbnails; (K,), 1 for identical images."""

    def local_mean(x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Mean over every WINDOW x WINDOW window, from an integral image; (K, H - WINDOW + 1, W - WINDOW + 1)."""
        total = np.pad(x.cumsum(-2).cumsum(-1), ((0, 0), (1, 0), (1, 0)))
        w = WINDOW
        return (total[:, w:, w:] - total[:, :-w, w:] - total[:, w:, :-w] + total[:, :-w, :-w]) / (w * w)

    x, y = query[None], candidates  # (1, H, W), (K, H, W)
    mx, my = local_mean(x), local_mean(y)
    vx, vy = local_mean(x * x) - mx**2, local_mean(y * y) - my**2
    cov = local_mean(x * y) - mx * my
    score = ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    return score.mean(axis=(-2, -1)).astype(np.float32)


def rerank(
    query: NDArray[np.float32], candidates: NDArray[np.float32], cosine: NDArray[np.float32], how: Reranker
) -> NDArray[np.intp]:
    """The candidates' new order (indices into the first-stage order), best first; `none` keeps it (`learned`
    is PairScorer.order's)."""
    if how == "none":
        return np.arange(len(candidates))
    if how == "learned":
        raise ValueError("the learned re-ranker orders with PairScorer.order (it needs the embeddings)")
    structural = ssim(query, candidates)  # (K,)
    score = structural if how == "ssim" else structural / np.maximum(1.0 - cosine, 1e-3)
    return np.argsort(-score, kind="stable")
