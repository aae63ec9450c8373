"""Peak memory of one large tiled x4 edit on the CPU with a tiny model (memory, not speed).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_tile_memory.py [--width 3000 --height 2000] [--tile 256]

Runs ``ganedit.load(TinyUpscale(scale=4), weights=False, tile=...)`` on a random
``width`` x ``height`` RGB uint8 image and prints the process's peak RSS above what it held
before the edit, next to the size of the uint8 output and of a float32 output of that size.
The model is tiny, so the figure is the blending and output buffers, not activations (for a
real model see ``bench_sr_memory.py``). Run it against another checkout with
``PYTHONPATH=<checkout> python benchmarks/bench_tile_memory.py`` to compare.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import torch

import ganedit
from ganedit.testing import TinyUpscale


def peak_rss() -> int:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru if sys.platform == "darwin" else ru * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=3000)
    ap.add_argument("--height", type=int, default=2000)
    ap.add_argument("--tile", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(2)
    img = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), np.uint8)
    ed = ganedit.load(TinyUpscale(), weights=False, scale=4, tile=args.tile, device="cpu")
    ed(img[:64, :64])  # warm up, so the baseline holds the allocator's steady state
    base = peak_rss()
    t0 = time.perf_counter()
    out = ed(img)
    took = time.perf_counter() - t0
    gib = 1 << 30
    px = out.shape[0] * out.shape[1]
    print(f"ganedit from {ganedit.__file__}")
    print(f"input {args.width}x{args.height} -> output {out.shape[1]}x{out.shape[0]} (x4), "
          f"tile {args.tile}, {took:.1f} s")  # fmt: skip
    print(
        f"peak RSS above the baseline: {(peak_rss() - base) / gib:.2f} GiB "
        f"(uint8 output {out.nbytes / gib:.2f} GiB; a float32 output {px * 12 / gib:.2f} GiB)"
    )


if __name__ == "__main__":
    main()
