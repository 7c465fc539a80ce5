"""The live catalog's vectors and categories, read from the active model's Milvus collection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from indexer.vector_store import VECTOR_FIELD, VectorStore


@dataclass(frozen=True)
class CatalogVectors:
    """Item ids, their (N, D) vectors and their categories, in one order."""

    ids: list[str]
    vectors: NDArray[np.float32]
    categories: list[str]


def read_catalog_vectors(store: VectorStore, progress: bool = True) -> CatalogVectors:
    """Every item of the collection, with a progress bar (100k items: a few batches of 2,000 a second)."""
    ids: list[str] = []
    vectors: list[list[float]] = []
    categories: list[str] = []
    with tqdm(total=store.count(), desc="reading vectors", unit="item", disable=not progress) as bar:
        for rows in store.scan([VECTOR_FIELD, "category"]):
            ids.extend(row["id"] for row in rows)
            vectors.extend(row[VECTOR_FIELD] for row in rows)
            categories.extend(row["category"] for row in rows)
            bar.update(len(rows))
    array = np.asarray(vectors, dtype=np.float32).reshape(len(ids), store.dim)
    return CatalogVectors(ids, array, categories)
