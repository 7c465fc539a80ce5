"""The charts and the Markdown report of bench.query, drawn from its JSON report (nothing copied by hand)."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")
COLUMNS = ("items", "scenario", "clients", "throughput_rps", "p50_ms", "p95_ms", "p99_ms", "recall_at_10")
STAGES = ("decode", "embed", "milvus-search", "solr-get", "serialise", "http")


def _series(rows: list[dict[str, Any]], key: str, fixed: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows matching fixed, sorted by key."""
    return sorted(
        (row for row in rows if all(row[name] == value for name, value in fixed.items())), key=lambda r: r[key]
    )


def _chart(rows: list[dict[str, Any]], x: str, groups: list[dict[str, Any]], title: str, path: Path) -> Path:
    """Latency percentiles against x, one line per percentile and group."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for group in groups:
        series = _series(rows, x, group)
        if not series:
            continue
        label = ", ".join(f"{name}={value}" for name, value in group.items())
        for percentile, style in zip(PERCENTILES, ("-", "--", ":"), strict=True):
            axes.plot([row[x] for row in series], [row[percentile] for row in series], style, marker="o",
                      label=f"{percentile[:3]} {label}")  # fmt: skip
    axes.set_xlabel(x)
    axes.set_ylabel("latency (ms)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_charts(report: dict[str, Any], json_path: Path) -> list[Path]:
    """PNG charts next to the JSON: latency percentiles vs clients (per size) and vs items (per clients)."""
    rows = report["rows"]
    sizes = sorted({row["items"] for row in rows})
    clients = sorted({row["clients"] for row in rows})
    scenarios = sorted({row["scenario"] for row in rows})
    stem = json_path.with_suffix("")
    by_clients = [{"items": size, "scenario": scenario} for size in sizes for scenario in scenarios]
    by_items = [{"clients": count, "scenario": scenario} for count in clients for scenario in scenarios]
    return [
        _chart(rows, "clients", by_clients, "POST /v1/search latency vs clients", Path(f"{stem}-vs-clients.png")),
        _chart(rows, "items", by_items, "POST /v1/search latency vs items", Path(f"{stem}-vs-items.png")),
    ]


def write_markdown(report: dict[str, Any], path: Path, charts: list[Path]) -> None:
    """The report as a Markdown table with its command, machine and load, and the charts."""
    lines = [
        f"# Query benchmark: {report['vector_store']}",
        "",
        f"Command: `{report['command']}`; model `{report['model']}` ({report['model_version']}, {report['dim']}-d); "
        f"{report['cpu_count']} CPUs; {report['uvicorn_workers']} uvicorn worker(s); {report['seconds_per_level']} s "
        f"per level; k={report['k']}. Load average (1/5/15 min) at start {_load(report['load_average_at_start'])}, "
        f"at end {_load(report['load_average_at_end'])}; each row has the 1-min load before and after it.",
        "",
        f"Recall: {report['recall']}.",
        "",
        "| " + " | ".join(COLUMNS) + " | load before/after | " + " | ".join(f"{s} ms" for s in STAGES) + " |",
        "|" + "---|" * (len(COLUMNS) + 1 + len(STAGES)),
    ]
    for row in report["rows"]:
        cells = [str(row.get(column)) for column in COLUMNS]
        cells.append(f"{row['load_1min_before']} / {row['load_1min_after']}")
        cells += [f"{row['stage_mean_ms'].get(stage, 0):.1f}" for stage in STAGES]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Stage columns are means from the server's `Server-Timing`; `http` is the rest of the client's latency.",
    ]
    if report.get("canary"):
        lines += ["", f"Live recall canary: {report['canary_note']}.", ""]
        lines += [f"- {c['items']} items: {c['queries']} queries, mean recall@10 {c['mean_recall_at_10']}"
                  for c in report["canary"]]  # fmt: skip
    lines += ["", *[f"![{chart.stem}]({chart.name})" for chart in charts], ""]
    path.write_text("\n".join(lines))


def _load(values: list[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)
