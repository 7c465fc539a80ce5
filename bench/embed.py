"""Embedding throughput on this CPU: JPEG bytes -> vectors (decode, resize, forward), per batch size.

Usage: python -m bench.embed --model models/catalog.pt --catalog ../shared/datasets/clothing-small/test
Prints a table and writes reports/bench-embed.json.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.report_file import write_report
from embedder import Embedder
from embedder.data.image_folder import list_image_folder
from embedder.preprocessing import normalize


def flops_per_image(embedder: Embedder) -> int:
    c = embedder.config
    x = normalize(torch.zeros(1, c.channels, c.image_height, c.image_width, dtype=torch.uint8), c)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        embedder.encoder(x)
    return int(counter.get_total_flops())


def throughput(embedder: Embedder, images: list[bytes], batch_size: int, seconds: float) -> dict[str, float]:
    """Images per second over repeated passes of `images` in batches, for at least `seconds`."""
    embedder.batch_size = batch_size
    embedder.embed(images[:batch_size])  # warm-up
    done, started = 0, time.perf_counter()
    decode_s = forward_s = 0.0
    while time.perf_counter() - started < seconds:
        for start in range(0, len(images), batch_size):
            t0 = time.perf_counter()
            pixels = embedder.pixels(images[start : start + batch_size])
            t1 = time.perf_counter()
            embedder.embed_pixels(pixels)
            forward_s += time.perf_counter() - t1
            decode_s += t1 - t0
            done += len(pixels)
    elapsed = time.perf_counter() - started
    return {
        "batch_size": batch_size,
        "images_per_s": done / elapsed,
        "ms_per_image": 1000 * elapsed / done,
        "decode_resize_share": decode_s / (decode_s + forward_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/catalog.pt"))
    parser.add_argument("--catalog", type=Path, default=Path("../shared/datasets/clothing-small/test"))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--seconds", type=float, default=8.0, help="minimum measuring time per batch size")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=Path("reports/bench-embed.json"))
    args = parser.parse_args()

    embedder = Embedder.load(args.model, threads=args.threads)
    paths = list_image_folder(args.catalog)[0]
    images = [p.read_bytes() for p in paths]
    params = sum(p.numel() for p in embedder.encoder.parameters())
    rows = [throughput(embedder, images, b, args.seconds) for b in args.batch_sizes]
    result = {
        "command": "python -m bench.embed " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "model": str(args.model),
        "model_version": embedder.version,
        "input": f"{embedder.config.channels}x{embedder.config.image_height}x{embedder.config.image_width}",
        "encoder_parameters": params,
        "encoder_flops_per_image": flops_per_image(embedder),
        "images": f"{len(images)} JPEGs from {args.catalog}",
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "results": rows,
    }
    print(
        f"model {args.model} ({result['input']}), {params:,} encoder parameters, "
        f"{result['encoder_flops_per_image'] / 1e6:.1f} MFLOPs per image, {args.threads} threads"
    )
    print(f"{'batch':>6} {'images/s':>10} {'ms/image':>10} {'decode+resize share':>20}")
    for row in rows:
        speed, share = f"{row['images_per_s']:>10.1f} {row['ms_per_image']:>10.2f}", row["decode_resize_share"]
        print(f"{row['batch_size']:>6} {speed} {share:>20.0%}")
    write_report(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
