"""Peak memory and time of upscaling one large photo x4 on the CPU (tiling keeps it bounded).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_sr_memory.py [--width 4000 --height 3000] [--scale 4]
        [--weights W] [--tile auto]

``--heap-reuse`` keeps freed heap memory as ``ganedit run`` does on the CPU
(:mod:`ganedit.hostmem`), so the peak also shows what that costs. Builds a ``width`` x
``height`` RGB input (a photo from ``data/photos`` resized up, else a
smooth synthetic image), runs ``ganedit.load("srgan")(img)`` through the core's automatic
tiling, and reports the time and the process's peak RSS (``resource.getrusage``), next to the
size of the output array and of an untiled run's estimated activations, for scale, and a
roofline line (the trained network's MACs per input pixel, tile overlaps not counted, against
the machine's fp32 GEMM peak).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _machine import cpu_model
from _plain import plain_generator
from _roofline import macs_per_pixel, peak_gflops, roofline_line

import ganedit
from ganedit.hostmem import keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_bytes() -> int:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru if sys.platform == "darwin" else ru * 1024


def make_input(width: int, height: int) -> np.ndarray:
    photos = sorted((ROOT / "data" / "photos" / "val").glob("*.png"))
    if photos:
        img = cv2.imread(str(photos[0]), cv2.IMREAD_COLOR)[:, :, ::-1]
        return np.ascontiguousarray(cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([np.sin(xx / 37.0), np.cos(yy / 23.0), np.sin((xx + yy) / 51.0)], -1)
    return ((img * 0.5 + 0.5) * 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--scale", type=int, default=4, choices=(2, 4))
    ap.add_argument("--weights", default=None, help="weights file (default: bundled)")
    ap.add_argument("--tile", default="auto", help="tile size in input pixels, or auto")
    ap.add_argument(
        "--heap-reuse",
        action="store_true",
        help="keep freed heap memory as `ganedit run` does on the CPU (ganedit.hostmem)",
    )
    args = ap.parse_args()
    heap = keep_freed_memory() if args.heap_reuse else None

    img = make_input(args.width, args.height)
    rss_input = peak_rss_bytes()
    tile = args.tile if args.tile == "auto" else int(args.tile)
    editor = ganedit.load(
        "srgan", weights=args.weights, device="cpu", precision="fp32", scale=args.scale, tile=tile
    )
    plan = editor.plan(args.height, args.width)
    t0 = time.perf_counter()
    out = editor(img)
    dt = time.perf_counter() - t0
    peak = peak_rss_bytes()
    gib = 1 << 30
    out_px = out.shape[0] * out.shape[1]
    # an untiled fp32 forward holds at least ~3 feature maps of 64 channels at the output size
    naive = 3 * 64 * 4 * out_px
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}"
    )
    print(
        f"input {args.width}x{args.height} -> output {out.shape[1]}x{out.shape[0]} "
        f"(x{args.scale}), plan (tile, batch) = {plan}"
    )
    print(f"heap: {heap or 'glibc defaults'}")
    print(
        f"working set beyond the input and the output: "
        f"{(peak - rss_input - out.nbytes) / gib:.2f} GiB"
    )
    print(f"time: {dt:.1f} s ({args.width * args.height / dt / 1e6:.3f} input Mpx/s)")
    macs = macs_per_pixel(plain_generator(editor))
    print(roofline_line(macs, args.width * args.height, dt, peak_gflops("cpu")))
    print(
        f"peak RSS: {peak / gib:.2f} GiB (after building the input: {rss_input / gib:.2f} GiB; "
        f"output array alone {out.nbytes / gib:.2f} GiB; an untiled forward would need "
        f"> {naive / gib:.0f} GiB)"
    )


if __name__ == "__main__":
    main()
