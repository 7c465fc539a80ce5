"""Data sources of training and evaluation, each loaded into `LabelledImages`.

The loaders (torch) are imported on first use, so the photo walker (`embedder.data.image_folder.folder_photos`,
used by publishing, the API and the bench) loads without torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedder.data.dataset import LabelledImages
    from embedder.data.fashion_mnist import load_fashion_mnist
    from embedder.data.image_folder import load_image_folder
    from embedder.data.views import TwoViews

__all__ = ["LabelledImages", "TwoViews", "load_fashion_mnist", "load_image_folder"]

_MODULES = {
    "LabelledImages": "embedder.data.dataset",
    "TwoViews": "embedder.data.views",
    "load_fashion_mnist": "embedder.data.fashion_mnist",
    "load_image_folder": "embedder.data.image_folder",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(_MODULES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
