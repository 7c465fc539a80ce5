"""Agreement of the derived garment colour (embedder/colour.py) with colours labelled by a person looking at photos.

Usage: python -m bench.colour --labels reports/colour-labels.csv --catalog ../shared/datasets/clothing-small
The labels file has one row per photo: its path under the catalog, the colour a person sees, and optionally a
second colour that is also right (a striped or two-tone garment). reports/colour-labels.csv holds 120 photos,
every third of the sorted test split (`sorted(test/*/*.jpg)[::3]`), labelled by looking at them (contact sheets
of 20) before the derivation's thresholds were tuned. While tuning, the errors of the rows at even positions
were examined one by one; the odd rows' errors were not, but the pixel statistics of 13 of them were looked at
too, so the "held-out" half is only partly held out. Agreement is reported for both halves and overall.
Prints a summary and writes reports/colour-agreement.json.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

from bench.report_file import write_report
from embedder.colour import PALETTE, are_neighbours, dominant_colour


def agreement(rows: list[dict[str, str]]) -> dict[str, float | int]:
    """Shares of rows whose derived colour is the label, one of the labels, or the label's palette neighbour."""
    n = len(rows)
    return {
        "photos": n,
        "exact": sum(r["derived"] == r["colour"] for r in rows) / n,
        "exact_or_also_right": sum(r["derived"] in (r["colour"], r["also_right"]) for r in rows) / n,
        "within_neighbour": sum(are_neighbours(r["derived"], r["colour"]) for r in rows) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("reports/colour-labels.csv"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--out", type=Path, default=Path("reports/colour-agreement.json"))
    args = parser.parse_args()

    with args.labels.open(newline="") as labels:
        rows = list(csv.DictReader(labels))
    started = time.perf_counter()
    for row in rows:
        row["derived"] = dominant_colour((args.catalog / row["photo"]).read_bytes())
    ms_per_photo = 1000 * (time.perf_counter() - started) / len(rows)
    result = {
        "command": f"python -m bench.colour --labels {args.labels} --catalog {args.catalog} --out {args.out}",
        "palette": list(PALETTE),
        "all": agreement(rows),
        "tuning_half": agreement(rows[0::2]),
        "held_out_half": agreement(rows[1::2]),
        "ms_per_photo": round(ms_per_photo, 2),
        "label_counts": dict(Counter(r["colour"] for r in rows).most_common()),
        "derived_counts": dict(Counter(r["derived"] for r in rows).most_common()),
        "confusions": dict(
            Counter(f"{r['colour']} -> {r['derived']}" for r in rows if r["derived"] != r["colour"]).most_common()
        ),
        "photos": rows,
    }
    for part, part_rows in (("all", rows), ("tuning_half", rows[0::2]), ("held_out_half", rows[1::2])):
        scores = agreement(part_rows)
        print(
            f"{part:>14}: {scores['photos']} photos, exact {scores['exact']:.0%}, exact or also-right "
            f"{scores['exact_or_also_right']:.0%}, within neighbour {scores['within_neighbour']:.0%}"
        )
    print(f"{ms_per_photo:.1f} ms per photo")
    write_report(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
