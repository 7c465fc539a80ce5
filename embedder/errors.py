"""Errors the embedder raises; callers (CLI, bolts, API) map them to their own channels."""


class EmbedderError(Exception):
    """Base class of every error raised by the embedder package."""


class EmptyInputError(EmbedderError, ValueError):
    """An image was empty (no bytes), or no images were given where some are required."""


class ImageDecodeError(EmbedderError, ValueError):
    """The bytes given are not an image that Pillow can decode."""


class CheckpointError(EmbedderError):
    """A checkpoint file is missing, unreadable or not a CBIR-GAN checkpoint."""


class DatasetError(EmbedderError):
    """A data set is missing or has an unexpected layout."""


class DeviceUnavailableError(EmbedderError):
    """A device was asked for that this machine does not have (e.g. cuda without a GPU)."""
