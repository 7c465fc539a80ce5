"""SSIM of thumbnails and the reorderings built on it."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from embedder.rerank import C1, C2, THUMBNAIL_SIZE, WINDOW, grey_thumbnail, rerank, ssim
from tests.synthetic import coloured_image, jpeg_bytes


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM written out window by window, in float64."""

    def mean(a: np.ndarray) -> np.ndarray:
        return sliding_window_view(a.astype(np.float64), (WINDOW, WINDOW)).mean(axis=(-2, -1))

    mx, my = mean(x), mean(y)
    vx, vy, cov = mean(x * x) - mx**2, mean(y * y) - my**2, mean(x * y) - mx * my
    return float((((2 * mx * my + C1) * (2 * cov + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))).mean())


def test_ssim_is_one_for_the_same_image_and_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    query = rng.uniform(0, 255, (32, 24)).astype(np.float32)
    others = rng.uniform(0, 255, (3, 32, 24)).astype(np.float32)
    others[1] = query * 0.5 + 60  # same structure, other light
    scores = ssim(query, np.concatenate([query[None], others]))
    assert abs(scores[0] - 1) < 1e-5
    for score, other in zip(scores[1:], others, strict=True):
        assert abs(score - reference_ssim(query, other)) < 1e-4
    assert scores[2] > 0.5 > max(scores[1], scores[3])


def test_grey_thumbnail_of_a_photo() -> None:
    thumb = grey_thumbnail(jpeg_bytes(coloured_image((200, 30, 30), seed=1, size=(96, 128))))
    assert thumb.shape == (THUMBNAIL_SIZE[1], THUMBNAIL_SIZE[0]) and thumb.dtype == np.float32


def test_rerankers_reorder_the_candidates() -> None:
    rng = np.random.default_rng(1)
    query = rng.uniform(0, 255, (32, 24)).astype(np.float32)
    candidates = rng.uniform(0, 255, (4, 32, 24)).astype(np.float32)
    candidates[2] = query
    cosine = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    assert rerank(query, candidates, cosine, "none").tolist() == [0, 1, 2, 3]
    assert rerank(query, candidates, cosine, "ssim")[0] == 2
    assert rerank(query, candidates, cosine, "ssim_cosine")[0] == 2
