"""The demo as it stands: embed the catalog, then show the top matches of a few test photos."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embedder import Embedder
from embedder.data.image_folder import list_image_folder


def embed_folder(embedder: Embedder, paths: list[Path], batch: int = 128) -> np.ndarray:
    chunks = []
    for start in tqdm(range(0, len(paths), batch), desc="embedding catalog", unit="batch"):
        chunks.append(embedder.embed([p.read_bytes() for p in paths[start : start + batch]]))
    return np.concatenate(chunks)


def run_demo(model: Path, catalog: Path, queries: Path, count: int = 5, top: int = 5) -> str:
    """Embed `catalog` (a class-folder tree), query with `count` photos of `queries`; return the printout."""
    embedder = Embedder.load(model)
    paths, labels, classes = list_image_folder(catalog)
    started = time.perf_counter()
    vectors = embed_folder(embedder, paths)
    seconds = time.perf_counter() - started
    query_paths, query_labels, _ = list_image_folder(queries)
    picks = np.linspace(0, len(query_paths) - 1, count).astype(int)  # spread over the classes
    lines = [
        f"model {model} (version {embedder.version}, dim {embedder.dim}); "
        f"embedded {len(paths)} catalog photos in {seconds:.1f} s ({len(paths) / seconds:.0f} images/s)"
    ]
    for i in picks:
        query = embedder.embed([query_paths[i].read_bytes()])[0]
        scores = vectors @ query
        best = np.argsort(-scores)[:top]
        lines.append(f"\nquery {query_paths[i].name} (class {classes[query_labels[i]]}):")
        for rank, j in enumerate(best, 1):
            mark = "✓" if labels[j] == query_labels[i] else "✗"
            lines.append(f"  {rank}. {mark} {classes[labels[j]]:<11} score {scores[j]:.3f}  {paths[j].name}")
    return "\n".join(lines)
