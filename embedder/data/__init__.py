from embedder.data.dataset import LabelledImages
from embedder.data.fashion_mnist import load_fashion_mnist
from embedder.data.image_folder import load_image_folder
from embedder.data.views import TwoViews

__all__ = ["LabelledImages", "TwoViews", "load_fashion_mnist", "load_image_folder"]
