"""Folder upscaling speed: ganedit.run_folder vs a plain one-image-at-a-time loop.

Both run in this one process, on the same folder of images and the same srgan weights:

* baseline: for each file, ``cv2.imread`` -> float NCHW tensor -> ``generator(x)`` in fp32
  (NCHW weights) -> clamp/uint8 -> ``cv2.imwrite`` (PNG, OpenCV defaults), strictly sequential;
* ganedit: ``ganedit.run_folder("srgan", [folder], out, weights=...)`` (decode pool, batched
  device stage, encode pool, atomic writes, manifest).

The baseline repeats all run before ganedit's: a folder run turns on heap reuse for the whole
process (:mod:`ganedit.hostmem`), which would otherwise speed the naive loop up too.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_upscale_folder.py [--n 8] [--size 128] [--scale 4]
        [--weights W] [--device cpu] [--repeat 2]

The images are ``size`` x ``size`` crops of the project photos (``data/photos``), or of the
bundled samples when the photos are absent. Prints img/s for both, the ratio, the machine, and
a roofline line: the generator's multiply-accumulates per input pixel (counted from the network)
against this machine's measured fp32 GEMM peak, for the baseline's time (model plus its I/O).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _machine import cpu_model
from _plain import plain_generator
from _roofline import macs_per_pixel, peak_gflops, roofline_line

import ganedit
from ganedit.weights import resolve_resource

ROOT = Path(__file__).resolve().parents[1]


def make_inputs(folder: Path, n: int, size: int) -> None:
    """``n`` RGB PNG crops of ``size`` x ``size`` from the photos (or the samples)."""
    sources = sorted((ROOT / "data" / "photos" / "val").glob("*.png")) + sorted(
        (ROOT / "data" / "photos" / "train").glob("*.png")
    )
    if not sources:
        sources = sorted((ROOT / "plugins" / "ganedit_srgan" / "samples").glob("*.png"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.imread(str(sources[i % len(sources)]), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        cv2.imwrite(str(folder / f"img{i:03d}.png"), img[y : y + size, x : x + size])


def baseline(generator: torch.nn.Module, folder: Path, out: Path, device: torch.device) -> float:
    """One image at a time: read, forward (fp32), write. Returns seconds."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for path in sorted(folder.glob("*.png")):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        x = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float().div_(255)
        with torch.no_grad():
            y = generator(x).clamp_(0, 1)
        img = y[0].permute(1, 2, 0).mul_(255).round_().to(torch.uint8).cpu().numpy()
        cv2.imwrite(str(out / path.name), np.ascontiguousarray(img[:, :, ::-1]))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="images in the folder")
    ap.add_argument("--size", type=int, default=128, help="input side in pixels")
    ap.add_argument("--scale", type=int, default=4, choices=(2, 4))
    ap.add_argument("--weights", default=None, help="weights file (default: bundled)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each (best is kept)")
    args = ap.parse_args()

    weights = args.weights
    if weights is None:
        spec = f"ganedit_srgan:weights/srgan-x{args.scale}.safetensors"
        weights = str(resolve_resource(spec))
        if not Path(weights).is_file():
            raise SystemExit(f"{weights} not found; pass --weights")
    # the naive loop's network: NCHW, as a Real-ESRGAN user runs it (ganedit's own editor
    # chooses its memory format by measurement, which would hand the baseline channels_last)
    editor = ganedit.load(
        "srgan", weights=weights, device=args.device, precision="fp32", memory_format="contiguous"
    )
    generator, device = plain_generator(editor), editor.device

    with tempfile.TemporaryDirectory(prefix="ganedit-bench-") as tmp:
        tmpd = Path(tmp)
        folder = tmpd / "in"
        make_inputs(folder, args.n, args.size)
        # warm-up (allocator, kernels) for both paths on one image
        baseline(generator, folder, tmpd / "warm", device)
        shutil.rmtree(tmpd / "warm")
        # every baseline repeat first: ganedit's run turns on heap reuse for the process
        # (ganedit.hostmem), which the naive loop of a Real-ESRGAN user does not have
        t_base = [
            baseline(generator, folder, tmpd / f"base{r}", device) for r in range(args.repeat)
        ]
        t_ours = []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            report = ganedit.run_folder(
                "srgan",
                [folder],
                tmpd / f"ours{r}",
                weights=weights,
                device=args.device,
                precision="fp32",
                heap_reuse=True,  # as `ganedit run` does
                progress=False,
            )
            t_ours.append(time.perf_counter() - t0)
            if report.failed:
                raise SystemExit(f"run_folder failed: {report.failed}")
        # same weights, same pixels?
        a = cv2.imread(str(tmpd / "base0" / "img000.png"))
        b = cv2.imread(str(tmpd / "ours0" / "img000.png"))
        max_diff = int(np.abs(a.astype(int) - b.astype(int)).max())

    base_ips = args.n / min(t_base)
    ours_ips = args.n / min(t_ours)
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, device {device}"
    )
    print(
        f"task: {args.n} images {args.size}x{args.size} -> x{args.scale}, weights {Path(weights).name}"
    )
    print(
        f"baseline (sequential cv2 + fp32 forward): {base_ips:.3f} img/s  (runs: "
        f"{', '.join(f'{t:.2f}s' for t in t_base)})"
    )
    print(
        f"ganedit.run_folder:                       {ours_ips:.3f} img/s  (runs: "
        f"{', '.join(f'{t:.2f}s' for t in t_ours)})"
    )
    print(
        f"ratio ganedit / baseline: {ours_ips / base_ips:.2f}x   (max pixel difference {max_diff})"
    )
    macs = macs_per_pixel(generator)
    peak = peak_gflops(device)
    pixels = args.n * args.size * args.size
    print("baseline " + roofline_line(macs, pixels, min(t_base), peak))
    print("ganedit  " + roofline_line(macs, pixels, min(t_ours), peak))


if __name__ == "__main__":
    main()
