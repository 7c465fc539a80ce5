import numpy as np

from embedder.evaluation.shopper_photo import shopper_photo
from tests.synthetic import coloured_image


def test_shopper_photo_is_deterministic_and_different_from_the_original() -> None:
    image = coloured_image((120, 80, 40), seed=5, size=(192, 256))
    a, b = shopper_photo(image, seed=3), shopper_photo(image, seed=3)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(shopper_photo(image, seed=4)), np.asarray(a))
    assert a.size != image.size  # cropped and rescaled
