"""Ablation: what each loss and each source of triplets adds, on the clothing catalog.

Every variant trains the catalog recipe from scratch for the same (short) number of epochs and is scored on
the two catalog protocols (class level: test -> train; instance level: shopper photos). The variants run one
after the other; finished ones are kept in the output file, so an interrupted run continues where it stopped.

Usage: python -m bench.ablation --catalog ../shared/datasets/clothing-small --epochs 6
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from bench.report_file import write_report
from embedder import Embedder, presets
from embedder.evaluation.protocols import catalog_protocols
from embedder.evaluation.representations import ModelRepresentation, RawPixels
from embedder.training.recipes import train

FULL = presets.train_config("catalog").loss_weights  # the shipped recipe's
VARIANTS: dict[str, dict[str, object]] = {  # in order of interest: an interrupted run keeps the first ones
    "full (semi: labels + augmentations, all losses)": {},
    "- adversarial": {"loss_weights": replace(FULL, adversarial=0.0)},
    "- perceptual": {"loss_weights": replace(FULL, perceptual=0.0)},
    "triplet losses only (no decoder, no GAN)": {
        "loss_weights": replace(FULL, adversarial=0.0, perceptual=0.0, reconstruction=0.0)
    },
    "supervised triplets only (labels)": {"triplet_source": "supervised"},
    "unsupervised triplets only (augmentations)": {"triplet_source": "unsupervised"},
    "- reconstruction": {"loss_weights": replace(FULL, reconstruction=0.0)},
    "semi, 25% of labels": {"labelled_fraction": 0.25},
}
COLUMNS = [("catalog-test-train", "R@1"), ("catalog-test-train", "mAP@all"), ("catalog-shopper-photo", "R@1"),
           ("catalog-shopper-photo", "mAP@all")]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--out", type=Path, default=Path("reports/ablation.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    report = json.loads(args.out.read_text()) if args.out.exists() else {}
    if report.get("epochs") != args.epochs:
        report = {"epochs": args.epochs, "variants": {}}
    report["command"] = f"python -m bench.ablation --catalog {args.catalog} --epochs {args.epochs}"
    protocols = catalog_protocols(args.catalog)
    if "raw pixels" not in report["variants"]:
        baseline = RawPixels(32, grey=False)
        report["variants"]["raw pixels"] = {p.name: p.run(baseline, progress=False) for p in protocols}
    for i, (name, changes) in enumerate(VARIANTS.items()):
        if name in report["variants"]:
            continue
        config = presets.train_config("catalog")
        config = replace(config, data_path=str(args.catalog / "train"), epochs=args.epochs, threads=args.threads,
                         **changes)  # type: ignore[arg-type]  # fmt: skip
        checkpoint = args.work / f"variant-{i}.pt"
        checkpoint.unlink(missing_ok=True)
        started = time.perf_counter()
        train(presets.model_config("catalog"), config, checkpoint)
        model = ModelRepresentation(name, Embedder.load(checkpoint, batch_size=256))
        report["variants"][name] = {p.name: p.run(model, progress=False) for p in protocols}
        report["variants"][name]["train_seconds"] = time.perf_counter() - started
        write_report(args.out, report)
    print(markdown_table(report))


def markdown_table(report: dict) -> str:
    head = "| variant | " + " | ".join(f"{p.replace('catalog-', '')} {m}" for p, m in COLUMNS) + " |"
    lines = [head, "|---" * (len(COLUMNS) + 1) + "|"]
    for name, result in report["variants"].items():
        lines.append(f"| {name} | " + " | ".join(f"{result[p][m]:.3f}" for p, m in COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
