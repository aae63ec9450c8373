"""The GPU figures of the performance issue: srgan 512x512 -> 2048x2048 folder runs (PNG and
JPEG output) and DCGAN 64x64 training, in img/s.

* srgan: ``ganedit.run_folder("srgan", ...)`` with the bundled x4 weights over ``--n`` photo
  crops of ``--size`` px (pinned host buffers, non-blocking copies back, the encode pool, bf16
  where the device supports it: ``precision="auto"``), once to PNG and once to JPEG
  (``format="jpg"``), after one warm-up run; the best of ``--repeats``.
* DCGAN: the engine's training step (``DCGAN.training_step`` through
  :class:`ganedit.engine.Engine`, precision ``auto``, device-resident data, channels_last
  where measured faster) at 64x64 RGB, the paper's ``ngf = ndf = 64``, batch 128.

Without a CUDA device it prints that there is nothing to measure and exits 0, unless
``--device cpu`` asks to run the same code on the CPU (small sizes: a smoke test of the path)::

    .venv/bin/python benchmarks/bench_gpu.py [--device cuda] [--n 32] [--size 512] [--steps 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _machine import machine
from bench_upscale_folder import make_inputs
from ganedit_dcgan.family import DCGAN, DCGANConfig

import ganedit
from ganedit import data as datasets
from ganedit.config import update_config
from ganedit.engine import Engine
from ganedit.family import Step


def srgan_img_per_s(src: Path, out: Path, device: str, fmt: str, repeats: int) -> float:
    """Best img/s of ``repeats`` folder runs of srgan x4 writing ``fmt``."""
    best = 0.0
    n = len(list(src.glob("*.png")))
    for r in range(repeats):
        t0 = time.perf_counter()
        report = ganedit.run_folder(
            "srgan", src, out / f"{fmt}{r}", device=device, format=fmt, progress=False
        )
        if report.failed:
            raise SystemExit(f"srgan run failed: {report.failed}")
        best = max(best, n / (time.perf_counter() - t0))
    return best


def dcgan_img_per_s(device: str, size: int, width: int, batch: int, steps: int) -> float:
    """img/s of ``steps`` engine training steps of DCGAN at ``size`` x ``size`` RGB."""
    fam = DCGAN()
    cfg = update_config(
        DCGANConfig(),
        {"image_size": size, "channels": 3, "ngf": width, "ndf": width, "batch_size": batch,
         "ema_decay": 0},
    )  # fmt: skip
    engine = Engine(device=device, precision="auto", seed=0)
    nets = engine.setup(fam.build(cfg))
    opts = fam.optimizers(nets, cfg)
    images = np.random.default_rng(0).integers(0, 256, (4 * batch, size, size, 3), dtype=np.uint8)
    data = datasets.tensor_images(images, channels=3).setup(engine.device, seed=0)
    engine.data = data
    latent = fam.latent(16, cfg, torch.Generator().manual_seed(0)).to(engine.device)
    engine.choose_memory_format(fam, cfg, {"latent": latent})
    warmup = 3
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if engine.device.type == "cuda":
                torch.cuda.synchronize(engine.device)
            t0 = time.perf_counter()
        losses = fam.training_step(Step(nets, opts, cfg, engine, {}, i), data.next_batch(batch))
    losses["g"].item()
    if engine.device.type == "cuda":
        torch.cuda.synchronize(engine.device)
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n", type=int, default=32, help="srgan: images per folder")
    ap.add_argument("--size", type=int, default=512, help="srgan: input side")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50, help="DCGAN: timed training steps")
    ap.add_argument("--dcgan-size", type=int, default=64)
    ap.add_argument("--dcgan-width", type=int, default=64)
    ap.add_argument("--dcgan-batch", type=int, default=128)
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: nothing to measure (run with --device cpu to smoke-test the path)")
        return
    print(machine())
    with tempfile.TemporaryDirectory(prefix="ganedit-gpu-") as tmp:
        t = Path(tmp)
        make_inputs(t / "in", args.n, args.size)
        ganedit.run_folder("srgan", t / "in", t / "warm", device=args.device, progress=False)
        for fmt in ("png", "jpg"):
            ips = srgan_img_per_s(t / "in", t, args.device, fmt, args.repeats)
            side = 4 * args.size
            print(
                f"srgan x4 {args.size}x{args.size} -> {side}x{side}, {fmt.upper()}: {ips:.2f} img/s"
            )
    ips = dcgan_img_per_s(
        args.device, args.dcgan_size, args.dcgan_width, args.dcgan_batch, args.steps
    )
    print(
        f"DCGAN {args.dcgan_size}x{args.dcgan_size}x3 ngf=ndf={args.dcgan_width} batch "
        f"{args.dcgan_batch}, precision auto, engine training: {ips:.1f} img/s"
    )


if __name__ == "__main__":
    main()
