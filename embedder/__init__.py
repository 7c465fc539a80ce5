"""CBIR-GAN image embedder: training, evaluation and the inference API used by the rest of the platform.

`Embedder` (torch) is imported on first use, so the light parts (`embedder.checkpoint_facts`, `embedder.config`,
`embedder.errors`) load without torch.
"""

from typing import TYPE_CHECKING, Any

from embedder.errors import CheckpointError, EmbedderError, EmptyInputError, ImageDecodeError

if TYPE_CHECKING:
    from embedder.inference import Embedder

__all__ = ["CheckpointError", "Embedder", "EmbedderError", "EmptyInputError", "ImageDecodeError"]


def __getattr__(name: str) -> Any:
    if name == "Embedder":
        from embedder.inference import Embedder

        return Embedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
