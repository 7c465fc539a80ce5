"""New-category mining: does `propose` find a class it never saw labelled, and how long does it take at 100k?

Usage: python -m bench.mine --model models/catalog.pt --catalog ../shared/datasets/clothing-small/train \
           --held-out shoes --sizes 3068,100000
Embeds the catalog, hides one class's labels (category "unlabelled"), runs the same `propose` as `cbir mine`,
and reports the best new-category proposal's purity and coverage of the hidden class. Larger sizes repeat the
catalog's vectors with small noise (a catalog of near-duplicates: the clustering cost, not its quality).
Writes reports/bench-mine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.report_file import write_report
from embedder import Embedder
from embedder.data.image_folder import list_image_folder
from mining.proposals import propose


def held_out_scores(report_ids: list[list[str]], hidden: set[str]) -> dict[str, float]:
    """Purity and coverage of the proposal that holds most of the hidden class."""
    best = max(report_ids, key=lambda ids: len(hidden & set(ids)), default=[])
    hits = len(hidden & set(best))
    return {"size": len(best), "purity": hits / max(len(best), 1), "coverage": hits / len(hidden)}


def scaled(vectors: NDArray[np.float32], size: int, seed: int = 0) -> NDArray[np.float32]:
    """size rows: the catalog's vectors repeated, each copy with a little noise, unit length."""
    rng = np.random.default_rng(seed)
    rows = vectors[np.arange(size) % len(vectors)] + 0.05 * rng.normal(size=(size, vectors.shape[1]))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/catalog.pt")
    parser.add_argument("--catalog", default="../shared/datasets/clothing-small/train")
    parser.add_argument("--held-out", default="shoes")
    parser.add_argument("--sizes", default="3068,100000")
    parser.add_argument("--out", default="reports/bench-mine.json")
    args = parser.parse_args()
    paths, labels, classes = list_image_folder(Path(args.catalog))
    categories = [classes[label] for label in labels]
    embedder = Embedder.load(args.model, batch_size=256, threads=2)
    vectors = embedder.embed([Path(p).read_bytes() for p in paths])
    runs = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows = vectors if size == len(vectors) else scaled(vectors, size)
        row_categories = [categories[i % len(categories)] for i in range(size)]
        shown = ["unlabelled" if c == args.held_out else c for c in row_categories]
        ids = [str(i) for i in range(size)]
        started = time.perf_counter()
        report = propose(rows, ids, shown)
        seconds = time.perf_counter() - started
        hidden = {ids[i] for i, c in enumerate(row_categories) if c == args.held_out}
        scores = held_out_scores([p.item_ids for p in report.new_categories], hidden)
        runs.append({"items": size, "seconds": round(seconds, 2), "new_category_proposals": len(report.new_categories),
                     **{k: round(v, 4) for k, v in scores.items()}})  # fmt: skip
        print(json.dumps(runs[-1]))
    result = {"model": args.model, "model_version": embedder.version, "held_out": args.held_out,
              "cpus": os.cpu_count(), "load_average": os.getloadavg(), "runs": runs}  # fmt: skip
    write_report(Path(args.out), result)


if __name__ == "__main__":
    main()
