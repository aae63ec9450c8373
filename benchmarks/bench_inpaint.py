"""Inpainting speed: CPU seconds per 512x512 image for the ``inpaint`` model beside
``cv2.inpaint`` (TELEA and NS, radius 3) in one process, and LaMa's reported figure.

Each method fills the same 512x512 photo (``data/sr-test/astronaut.png`` when fetched, else
random pixels) with the same seeded ``thick`` mask (about 26 % of the image). The model runs
through its editor (``ganedit.load``: padding, compositing, the smooth pre-fill and the
classical-fill hint when the config has them), so the time is what ``ganedit run`` pays per
image, decode and encode excluded. Timing does not depend on the weight values: without
``--weights`` and with no bundled weights the model is built at random with the bundled
recipe's sizes. Methods alternate ``--repeats`` times so a shared machine's load hits all
alike; the best repeat is reported, as wall seconds and as CPU seconds (process time over all
threads)::

    .venv/bin/python benchmarks/bench_inpaint.py [--repeats 3] [--threads N] [--paper]

LaMa's own figure (Suvorov et al. 2022, and the issue's reference): Big-LaMa, about 20-30 s per
512x512 image on 12 CPU cores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _machine import machine
from _roofline import macs_per_pixel, peak_gflops, roofline_line
from ganedit_inpaint.evaluate import cv2_fill, prepare_image
from ganedit_inpaint.family import Inpaint

import ganedit
from ganedit import data as gdata

LAMA_REPORTED = "Big-LaMa (51M params): 20-30 s per 512x512 image on 12 CPU cores (reported)"
RECIPE = {  # scripts/train_inpaint.py sizes
    "width": 16,
    "blocks": 6,
    "prefill": "smooth",
    "smooth_iters": 64,
    "norm": "none",
    "gate": True,
}


def test_image() -> np.ndarray:
    """``(512, 512, 3)`` uint8."""
    p = Path("data/sr-test/astronaut.png")
    if p.is_file():
        img = prepare_image(ganedit.read_image(p), 512)
        if img.shape[:2] == (512, 512):
            return img
    return np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """``(wall seconds, CPU seconds)`` of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def editors(args: argparse.Namespace) -> dict[str, object]:
    """The model editors to time: the bundled (or given) weights, optionally LaMa's sizes."""
    out: dict[str, object] = {}
    if args.weights or Inpaint().default_weights(Inpaint.Config()):
        ed = ganedit.load("inpaint", weights=args.weights, device="cpu")
        hint = "" if ed.config.hint == "none" else f", {ed.config.hint} hint"
        out[f"model ({ed.config.width}w, {ed.config.blocks} blocks{hint})"] = ed
    else:
        ed = ganedit.load(Inpaint, weights=False, device="cpu", **RECIPE)
        out[f"model ({RECIPE['width']}w, {RECIPE['blocks']} blocks, random)"] = ed
    if args.paper:
        out["LaMa sizes (64w, 9 blocks, random)"] = ganedit.load(
            Inpaint, weights=False, device="cpu"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="inpaint weights (default: bundled)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--paper", action="store_true", help="also time LaMa's default sizes")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    img = test_image()
    hole = gdata.seeded_masks("thick", 1, 512, 512, seed=0)[0, 0].numpy() > 0.5
    methods: dict[str, Callable[[], object]] = {}
    editors_used = editors(args)
    for name, ed in editors_used.items():
        methods[name] = lambda ed=ed: ed(img, mask=hole)  # type: ignore[operator]
    methods["cv2.inpaint TELEA r3"] = lambda: cv2_fill(img, hole, "telea")
    methods["cv2.inpaint NS r3"] = lambda: cv2_fill(img, hole, "ns")
    for fn in methods.values():
        fn()  # warm-up
    best = {k: (float("inf"), float("inf")) for k in methods}
    for _ in range(args.repeats):
        for k, fn in methods.items():
            w, c = timed(fn)
            best[k] = (min(best[k][0], w), min(best[k][1], c))
    print(f"machine: {machine()}")
    print(f"image: 512x512, thick mask {100 * hole.mean():.1f} % (seed 0); best of {args.repeats}")
    width = max(len(k) for k in methods)
    for k, (w, c) in best.items():
        print(f"  {k.ljust(width)}  {w:8.3f} s wall  {c:8.3f} CPU s")
    model = next(iter(best))
    telea = best["cv2.inpaint TELEA r3"][1]
    print(f"ratio {model} / TELEA (CPU s): {best[model][1] / max(telea, 1e-9):.1f}x")
    print(f"reference: {LAMA_REPORTED}")
    first: Any = next(iter(editors_used.values()))
    # image + mask, and the hint's 3 channels when the config has one
    macs = macs_per_pixel(first.generator, channels=first.generator.in_channels)
    print(
        f"{model} "
        + roofline_line(macs, 512 * 512, best[model][0], peak_gflops("cpu"))
        + " (torch's FLOP counter skips the FFTs of the spectral blocks: a lower bound)"
    )


if __name__ == "__main__":
    main()
