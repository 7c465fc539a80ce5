"""`cbir evaluate`: every protocol, model beside raw-pixel baseline, written to one JSON report."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from embedder.checkpoint import file_sha256
from embedder.evaluation.protocols import Protocol, catalog_protocols, fashion_mnist_protocols
from embedder.evaluation.representations import ModelRepresentation, RawPixels, Representation
from embedder.inference import Embedder

logger = logging.getLogger(__name__)

# (model, protocol, metric) -> (must reach, target), from the issue that specified the embedder.
TARGETS = {
    ("fashion-mnist", "fashion-mnist-loo", "R@1"): (0.88, 0.91),
    ("fashion-mnist", "fashion-mnist-loo", "mAP@all"): (0.84, 0.89),
    ("catalog", "catalog-test-train", "R@1"): (0.60, 0.75),
    ("catalog", "catalog-test-train", "mAP@all"): (0.30, 0.45),
}


def protocols_for(model: Embedder, catalog_root: Path) -> tuple[list[Protocol], Representation]:
    """Fashion-MNIST protocols for a grey-scale model, catalog protocols for a colour one, and their baseline."""
    if model.config.channels == 1:
        return fashion_mnist_protocols(), RawPixels(28, grey=True)
    return catalog_protocols(catalog_root), RawPixels(32, grey=False)


def evaluate_checkpoint(name: str, path: Path, catalog_root: Path, progress: bool = True) -> dict[str, Any]:
    embedder = Embedder.load(path, batch_size=256)
    protocols, baseline = protocols_for(embedder, catalog_root)
    model = ModelRepresentation(name, embedder)
    results: dict[str, Any] = {}
    for protocol in protocols:
        results[protocol.name] = {
            "description": protocol.description,
            "queries": len(protocol.queries.images),
            "gallery": len(protocol.gallery.images),
            "model": protocol.run(model, progress=progress),
            "baseline": {"name": baseline.name, **protocol.run(baseline, progress=progress)},
        }
        logger.info("%s %s: %s", name, protocol.name, results[protocol.name]["model"])
    return {
        "checkpoint": str(path),
        "sha256": file_sha256(path),
        "version": embedder.version,
        "epoch": embedder.info.get("epoch"),
        "train_config": embedder.info.get("train_config"),
        "data": embedder.info.get("data"),
        "protocols": results,
    }


def check_targets(models: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for (model, protocol, metric), (must, target) in TARGETS.items():
        if model not in models:
            continue
        value = models[model]["protocols"][protocol]["model"][metric]
        rows.append(
            {"model": model, "protocol": protocol, "metric": metric, "value": round(value, 4),
             "must_reach": must, "target": target, "met_must": value >= must, "met_target": value >= target}
        )  # fmt: skip
    return rows


def evaluate(checkpoints: dict[str, Path], catalog_root: Path, command: str, progress: bool = True) -> dict[str, Any]:
    models = {name: evaluate_checkpoint(name, path, catalog_root, progress) for name, path in checkpoints.items()}
    return {
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "metric_definitions": "see embedder/evaluation/metrics.py (cosine ranking of the full gallery, exact)",
        "models": models,
        "targets": check_targets(models),
    }


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table: one row per (model, protocol), model metrics beside the baseline's."""
    metrics = ["R@1", "R@2", "R@4", "R@8", "mAP@all", "mAP@1000", "P@100"]
    lines = [f"{'model':<14}{'protocol':<26}{'':<10}" + "".join(f"{m:>10}" for m in metrics)]
    for name, model in report["models"].items():
        for protocol, result in model["protocols"].items():
            for who in ("model", "baseline"):
                row = result[who]
                label = "model" if who == "model" else "raw pixels"
                lines.append(f"{name:<14}{protocol:<26}{label:<10}" + "".join(f"{row[m]:>10.4f}" for m in metrics))
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
