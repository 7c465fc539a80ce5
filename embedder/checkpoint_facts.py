"""What a checkpoint says about its model, read without torch: its config and its version.

A checkpoint (`embedder/checkpoint.py`) is a `torch.save` zip whose `data.pkl` holds the dict and refers to each
tensor's bytes by a persistent id. `read_config` unpickles only that dict, with every torch class replaced by an
inert placeholder, so `ingest/`, the fetch bolt and `cbir publish` learn the model's pixels, dimension and version
in milliseconds, with no torch import and no weights read.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedder.config import ModelConfig
from embedder.errors import CheckpointError

FORMAT = "cbir-gan/1"
VERSION_DIGITS = 12  # a model's version: the first hex digits of its file's SHA-256
_ALLOWED = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice")}


@dataclass(frozen=True)
class CheckpointFacts:
    """The model config of a checkpoint and its version (which names its Milvus collection)."""

    config: ModelConfig
    version: str

    @property
    def dim(self) -> int:
        return self.config.embedding_dim


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file: identifies the exact checkpoint a report or an index was made with."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_version(path: Path | str) -> str:
    """The version of the checkpoint at path: the first 12 hex digits of its SHA-256."""
    return file_sha256(path)[:VERSION_DIGITS]


def _placeholder(*args: Any, **kwargs: Any) -> None:
    """Stands for a tensor or a torch object: the facts never need one."""
    return None


class _TorchFreeUnpickler(pickle.Unpickler):
    """Unpickles a checkpoint's dict: torch's classes become placeholders, anything else unknown is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch.torch_version" and name == "TorchVersion":
            return str
        if module == "torch" or module.startswith("torch."):
            return _placeholder
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")

    def persistent_load(self, pid: Any) -> None:
        return None  # a tensor's storage: not read


def read_checkpoint_dict(path: Path | str) -> dict[str, Any]:
    """The checkpoint's dict with every tensor as None; CheckpointError if the file is not a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
            with archive.open(name) as data:
                checkpoint = _TorchFreeUnpickler(data).load()
    except (zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError, OSError) as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    return checkpoint


def read_config(path: Path | str) -> CheckpointFacts:
    """The model config and version of an image-model checkpoint, without torch."""
    checkpoint = read_checkpoint_dict(path)
    if not isinstance(checkpoint.get("model_config"), dict):
        raise CheckpointError(f"{path} holds no model config")
    return CheckpointFacts(ModelConfig.from_dict(checkpoint["model_config"]), model_version(path))
