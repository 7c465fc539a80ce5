"""The catalog's photo files (`CBIR_API_PHOTO_DIR`), found by the photo's hash: what `/v1/items/{id}/photo` serves
and what an accepted annotation re-publishes."""

import threading
from pathlib import Path

from embedder.data.image_folder import folder_photos
from indexer.item import photo_sha256


def photo_index(folder: Path) -> dict[str, Path]:
    """photo_sha256 of the bytes -> path, for every photo under folder."""
    return {photo_sha256(path.read_bytes()): path for path in folder_photos(folder)}


class PhotoFolder:
    """The photos under one folder (none when it is None), hashed once, on first use or in the background."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._photos: dict[str, Path] | None = None
        self._lock = threading.Lock()

    def index_in_background(self) -> None:
        """Hash the folder now, in a thread, so that the first request does not wait for it."""
        if self.folder is not None:
            threading.Thread(target=self.path, args=("",), daemon=True, name="photo-index").start()

    def path(self, photo: str) -> Path | None:
        """The file of a photo (its photo_sha256), if the folder has it."""
        with self._lock:
            if self._photos is None:
                self._photos = photo_index(self.folder) if self.folder is not None else {}
        return self._photos.get(photo)
