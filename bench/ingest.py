"""Streaming ingest on the local stack: end-to-end throughput, publish->searchable latency, embedder-alone speed.

Usage: python -m bench.ingest --model models/catalog.pt --images 2000
(as a module: run as a script, bench/ingest.py would shadow the `ingest` package)
Starts its own stack (Kafka, Solr, Milvus on free loopback ports, in a temporary run folder) and the ingest
topology in Storm LocalCluster, and stops both at the end; `--run-dir run` uses a stack that `cbir stack up`
started instead. In one run it measures:
  1. the embedder alone, in-process (`Embedder.embed`, the topology's batch size and torch threads), on the images;
  2. peak: after --warm-up images (not measured), N images published at once;
     throughput = N / (first publish -> last one searchable);
  3. half of that peak rate: N/2 other images published at a steady pace (the p99 latency goal is for this run).
Steps 2 and 3 run once per multilang serializer of --serializers (json: Storm's; msgpack: ours), each with its own
topology, topic, consumer group and images, so the serializer's share shows in one run.
Images cycle over the catalog's photos, each copy with one pixel changed and re-encoded, so every id differs.
"Searchable" means found by a Solr search (written after Milvus; visible within the store's commitWithin), polled
every --poll-s seconds for the ids not seen yet. Prints a table and writes reports/bench-ingest.json.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from kafka import KafkaProducer
from numpy.typing import NDArray
from PIL import Image

from bench.process_cpu import cpu_by_role
from bench.report_file import write_report
from devstack.jvm import resolve_jvm_deps
from devstack.launcher import Stack
from devstack.process import free_port, stop
from devstack.settings import StackSettings
from embedder import Embedder
from embedder.checkpoint_facts import read_config
from embedder.data.image_folder import folder_photos
from indexer.catalog_index import CatalogIndex
from indexer.item import item_id, photo_sha256
from indexer.metadata_store import MetadataStore
from ingest.folder_catalog import demo_message
from ingest.kafka_config import kafka_client_options
from ingest.message import encode_message
from settings import Settings, resolve_settings
from topologies.ingest.runner import start_ingest_topology

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Photo = tuple[str, bytes, bytes]  # (item id, Kafka key, message)


def variants(paths: list[Path], root: Path, count: int, first: int) -> list[Photo]:
    """count messages cycling over the photos; copy k has one pixel set from k, so its bytes and id are new."""
    photos: list[Photo] = []
    for k in range(first, first + count):
        path = paths[k % len(paths)]
        image = Image.open(path).convert("RGB")
        image.putpixel((k // len(paths) % image.width, 0), (k % 256, k // 256 % 256, 7))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        jpeg = buffer.getvalue()
        update = {"product_id": f"bench-{k}", "image_b64": base64.b64encode(jpeg).decode()}
        message = demo_message(path, root).model_copy(update=update)
        photos.append(
            (item_id(message.product_id, photo_sha256(jpeg)), message.product_id.encode(), encode_message(message))
        )
    assert len({p[0] for p in photos}) == len(photos), "two copies have the same bytes"
    return photos


def embedder_alone(photos: list[Photo], settings: Settings) -> float:
    """Images per second of Embedder.embed on the photos' JPEG bytes, as the embed bolt is configured: the best of
    three passes (the stack's JVMs start in the background; the ratio's denominator must not be slowed by them)."""
    batch = settings.ingest.embed_batch_size
    embedder = Embedder.load(settings.embedding.model_path, batch_size=batch, threads=settings.embedding.torch_threads)
    images = [base64.b64decode(json.loads(value)["image_b64"]) for _, _, value in photos]
    embedder.embed(images[:batch])  # warm-up
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        embedder.embed(images)
        rates.append(len(images) / (time.perf_counter() - started))
    print("embedder alone, three passes: " + ", ".join(f"{rate:.0f}" for rate in rates) + " images/s")
    return max(rates)


def cpu_now() -> Counter[str]:
    """CPU seconds so far of this process (publisher and poller) and of every process it started, by role."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return cpu_by_role(os.getpid()) + Counter({"bench (publish, poll)": usage.ru_utime + usage.ru_stime})


def cpu_per_image(before: Counter[str], after: Counter[str], images: int) -> dict[str, float]:
    """Milliseconds of CPU per image by role between two cpu_now() readings, largest first, with the total."""
    spent = {name: 1000 * (after[name] - before[name]) / images for name in after}
    ranked = {name: round(ms, 2) for name, ms in sorted(spent.items(), key=lambda kv: -kv[1]) if ms >= 0.005}
    return {**ranked, "total": round(sum(spent.values()), 2)}


@dataclass(frozen=True)
class Timeline:
    """When each image of a run was published and first found searchable, in seconds from the run's start."""

    published_s: NDArray[np.float64]
    searchable_s: NDArray[np.float64]


def publish_and_measure(
    producer: KafkaProducer, topic: str, solr: MetadataStore, photos: list[Photo], rate: float | None, poll_s: float
) -> tuple[Timeline, dict[str, Any]]:
    """Publish photos (at rate per second, or all at once) while polling the store for them; throughput, latency."""
    published: dict[str, float] = {}  # id -> when it was sent
    seen: dict[str, float] = {}  # id -> when a search first found it
    started = time.monotonic()
    deadline = started + 600 + (len(photos) / rate if rate else 0)
    while len(seen) < len(photos):
        assert time.monotonic() < deadline, f"only {len(seen)} of {len(photos)} searchable in time"
        due = len(photos) if rate is None else min(len(photos), int((time.monotonic() - started) * rate) + 1)
        for identity, key, value in photos[len(published) : due]:
            producer.send(topic, key=key, value=value)
            published[identity] = time.monotonic()
        producer.flush()
        now = time.monotonic()
        seen.update({item_id: now for item_id in solr.searchable_ids([i for i in published if i not in seen])})
        time.sleep(poll_s)
    elapsed = max(seen.values()) - started
    latency = np.array([seen[item_id] - published[item_id] for item_id in published])
    timeline = Timeline(
        published_s=np.array([published[i] - started for i in published]),
        searchable_s=np.array([seen[i] - started for i in published]),
    )
    return timeline, {
        "images": len(photos),
        "offered_rate_per_s": None if rate is None else round(rate, 2),
        "elapsed_s": round(elapsed, 2),
        "throughput_per_s": round(len(photos) / elapsed, 2),
        **{f"latency_p{q}_s": round(float(np.percentile(latency, q)), 3) for q in (50, 95, 99)},
        "latency_max_s": round(float(latency.max()), 3),
    }


@contextmanager
def local_stack(run_dir: Path | None) -> Iterator[StackSettings]:
    """The stack of run_dir (already running), or a private one on free ports, stopped on exit."""
    if run_dir is not None:
        yield StackSettings(run_dir=run_dir).with_saved_ports()
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        ports = {free_port() for _ in range(4)}
        assert len(ports) == 4, "free ports collided; run again"
        kafka, controller, solr, milvus = sorted(ports)
        settings = StackSettings(
            run_dir=Path(folder), kafka_port=kafka, kafka_controller_port=controller, solr_port=solr, milvus_port=milvus
        )
        resolve_jvm_deps(settings)
        stack = Stack(settings)
        try:
            stack.up()
            yield settings
        finally:
            stack.down()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Embedder alone, then the topology at peak and at half of it, once per multilang serializer (each with its
    own topic, consumer group and images); the results as JSON-ready data."""
    root = args.catalog
    paths = folder_photos(root)
    serializers = args.serializers.split(",")
    with local_stack(args.run_dir) as stack:
        runs: dict[str, dict[str, Any]] = {}
        timelines: dict[str, dict[str, Timeline]] = {}
        for position, serializer in enumerate(serializers):
            first = 3 * args.images * position + position * args.warm_up  # every run's ids are new
            peak_photos = variants(paths, root, args.images, first=first)
            half_photos = variants(paths, root, max(args.images // 2, 1), first=first + args.images)
            warm_up = variants(paths, root, args.warm_up, first=first + 2 * args.images)
            suffix = f"{os.getpid()}-{int(time.time())}"
            settings = resolve_settings({
                "stores": {"topic": f"bench-images-{suffix}", "dead_letter_topic": f"bench-images.dlq-{suffix}"},
                "ingest": {"consumer_group": f"bench-ingest-{suffix}", "multilang_serializer": serializer},
                "embedding": {"model_path": args.model},
            }, stack.run_dir)  # fmt: skip
            if args.run_dir is not None:  # a previous run's copies have the same ids: remove them first
                model = read_config(settings.embedding.model_path)
                index = CatalogIndex.from_settings(settings.stores, settings.indexer, model.version, model.dim)
                index.delete([identity for identity, _, _ in [*peak_photos, *half_photos, *warm_up]])  # no tombstones
            if position == 0:
                alone = embedder_alone(peak_photos, settings)
                print(f"embedder alone: {alone:.1f} images/s")
            print(f"[{serializer}] starting the topology")
            runs[serializer], timelines[serializer] = run_topology(
                stack, settings, (warm_up, peak_photos, half_photos), args.poll_s
            )
            runs[serializer]["pipeline_to_embedder_ratio"] = round(
                runs[serializer]["peak"]["throughput_per_s"] / alone, 3
            )
    best = max(runs.values(), key=lambda r: r["peak"]["throughput_per_s"])
    chart = draw_timelines(timelines, args.out.with_suffix(".png"))
    print(f"wrote {chart}")
    return {
        "command": "python -m bench.ingest " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "model": str(args.model),
        "catalog": f"{len(paths)} photos under {root}, cycled with one pixel changed per copy",
        "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "topology": {
            **{k: getattr(settings.ingest, k) for k in ("embed_batch_size", "index_batch_size", "max_spout_pending")},
            "torch_threads": settings.embedding.torch_threads,
        },
        "searchable_means": f"found by a Solr search, polled every {args.poll_s} s",
        "embedder_alone_per_s": round(alone, 2),
        "runs": runs,
        "goals (best run)": {
            "ratio_at_least_0_6": best["pipeline_to_embedder_ratio"] >= 0.6,
            "ratio_at_least_0_8 (moonshot)": best["pipeline_to_embedder_ratio"] >= 0.8,
            "p99_under_2_s_at_half_peak": best["half_peak"]["latency_p99_s"] < 2.0,
        },
    }


def run_topology(
    stack: StackSettings, settings: Settings, photos: tuple[list[Photo], list[Photo], list[Photo]], poll_s: float
) -> tuple[dict[str, Any], dict[str, Timeline]]:
    """Start the topology, warm it up, then measure the peak (with CPU per image by process) and half of it."""
    warm_up, peak_photos, half_photos = photos
    record, log = start_ingest_topology(stack, settings, duration_s=3600)
    try:
        solr = MetadataStore.connect(settings.stores.solr_core_url, timeout_s=30)
        producer = KafkaProducer(**kafka_client_options(settings.stores), linger_ms=5)
        publish_and_measure(producer, settings.stores.topic, solr, warm_up, None, poll_s)  # topology up and warm
        print(f"topology ready; publishing {len(peak_photos)} images at once")
        cpu_before = cpu_now()
        peak_timeline, peak = publish_and_measure(producer, settings.stores.topic, solr, peak_photos, None, poll_s)
        peak["cpu_ms_per_image"] = cpu_per_image(cpu_before, cpu_now(), len(peak_photos))
        rate = peak["throughput_per_s"] / 2
        print(f"peak {peak['throughput_per_s']} images/s; publishing {len(half_photos)} at {rate:.1f}/s")
        half_timeline, half = publish_and_measure(producer, settings.stores.topic, solr, half_photos, rate, poll_s)
        producer.close()
    finally:
        stop(record, timeout_s=30)
    return {"peak": peak, "half_peak": half}, {"peak": peak_timeline, "half_peak": half_timeline}


def draw_timelines(timelines: dict[str, dict[str, Timeline]], path: Path) -> Path:
    """Per run (serializer x peak / half of it): images made searchable per second, and each image's
    publish->searchable latency against when it was published."""
    figure, axes = plt.subplots(2, 2, figsize=(12, 7), sharey="row")
    for column, name in enumerate(("peak", "half_peak")):
        for serializer, runs in timelines.items():
            timeline = runs[name]
            end = float(timeline.searchable_s.max())
            bins = np.arange(0.0, end + 1.0, 1.0)
            counts, edges = np.histogram(timeline.searchable_s, bins=bins)
            axes[0][column].step(edges[:-1], counts, where="post", label=serializer)
            latency = timeline.searchable_s - timeline.published_s
            axes[1][column].scatter(timeline.published_s, latency, s=3, label=serializer)
        axes[0][column].set_title(f"{name}: images searchable per second")
        axes[1][column].set_title(f"{name}: publish -> searchable latency")
        axes[1][column].set_xlabel("seconds since the first publish")
        for row in (0, 1):
            axes[row][column].legend()
            axes[row][column].grid(alpha=0.3)
    axes[0][0].set_ylabel("images / s")
    axes[1][0].set_ylabel("latency, s (by publish time)")
    figure.suptitle("Ingest on the 2-core machine, by multilang serializer (python -m bench.ingest)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def print_table(result: dict[str, Any]) -> None:
    """The measurements as a small table."""
    print(f"\n{'run':<20} {'images':>7} {'images/s':>9} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} {'max s':>7}")
    for serializer, run in result["runs"].items():
        for name in ("peak", "half_peak"):
            r = run[name]
            latencies = " ".join(
                f"{r[k]:>7.2f}" for k in ("latency_p50_s", "latency_p95_s", "latency_p99_s", "latency_max_s")
            )
            print(f"{serializer + ' ' + name:<20} {r['images']:>7} {r['throughput_per_s']:>9.1f} {latencies}")
    print(f"{'embedder':<20} {'':>7} {result['embedder_alone_per_s']:>9.1f}   (in-process Embedder.embed)")
    for serializer, run in result["runs"].items():
        cpu = run["peak"]["cpu_ms_per_image"]
        print(f"[{serializer}] CPU ms per image at peak: " + ", ".join(f"{name} {ms}" for name, ms in cpu.items()))
        print(f"[{serializer}] pipeline / embedder-alone throughput: {run['pipeline_to_embedder_ratio']:.0%}")
    print(f"goals {result['goals (best run)']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small"))
    parser.add_argument("--images", type=int, default=2000, help="N images at peak (N/2 more at half of it)")
    parser.add_argument("--warm-up", type=int, default=300, help="images published first, not measured (JIT, caches)")
    parser.add_argument("--run-dir", type=Path, default=None, help="use the stack running from this run folder")
    parser.add_argument("--poll-s", type=float, default=0.25, help="seconds between searches for the ids")
    parser.add_argument("--serializers", default="json,msgpack", help="multilang serializers to run, in turn")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-ingest.json"))
    args = parser.parse_args()
    result = run(args)
    print_table(result)
    write_report(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
