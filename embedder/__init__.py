"""CBIR-GAN image embedder: training, evaluation and the inference API used by the rest of the platform."""

from embedder.errors import CheckpointError, EmbedderError, EmptyInputError, ImageDecodeError
from embedder.inference import Embedder

__all__ = ["CheckpointError", "Embedder", "EmbedderError", "EmptyInputError", "ImageDecodeError"]
