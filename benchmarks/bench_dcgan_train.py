"""DCGAN training throughput: the classic PyTorch loop vs ganedit's engine, in one process.

Baseline (the PyTorch ``examples/dcgan`` loop): a ``torch.utils.data.DataLoader`` over a
``Dataset`` of decoded uint8 numpy images converted to float per item, shuffled, fp32 NCHW,
``Adam``, one discriminator and one generator step per batch (the generator step reuses the
discriminator step's fakes).

ganedit: :class:`ganedit.engine.Engine` (device and precision strategy, NaN guard; EMA off)
with ``DCGAN.training_step`` (the same D and G updates, through ``engine.backward`` /
``engine.step``) on :mod:`ganedit.data` data kept decoded on the device as uint8.

Both use the same networks (``DCGAN.build``), batch size and data (Fashion-MNIST padded to
32x32, or random images when ``data/fashion-mnist`` is absent). Measurements alternate
baseline / ganedit ``--repeats`` times so a shared machine's load hits both alike; the best
repeat of each is reported::

    .venv/bin/python benchmarks/bench_dcgan_train.py [--steps 20] [--batch-size 64] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from _machine import cpu_model
from ganedit_dcgan.family import DCGAN, DCGANConfig
from torch import nn

from ganedit import data as datasets
from ganedit.config import update_config
from ganedit.engine import Engine
from ganedit.family import Step


def machine(device: torch.device) -> str:
    text = f"{cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    try:
        text += f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        pass
    return text


def load_images(n: int) -> np.ndarray:
    """``(n, 32, 32)`` uint8: Fashion-MNIST train images zero-padded, or random ones."""
    f = Path("data/fashion-mnist/train-images-idx3-ubyte.gz")
    if f.is_file():
        imgs = datasets.read_idx(f)[:n]
        return np.pad(imgs, ((0, 0), (2, 2), (2, 2)))
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32), dtype=np.uint8)


class NumpyImages(torch.utils.data.Dataset):
    """Decoded uint8 images, converted to float ``[-1, 1]`` ``(1, H, W)`` per item."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = torch.from_numpy(self.images[i]).float().div(255.0).mul(2).sub(1)
        return x.unsqueeze(0)


def bench_baseline(
    cfg: DCGANConfig,
    images: np.ndarray,
    device: torch.device,
    steps: int,
    warmup: int,
    workers: int,
) -> float:
    torch.manual_seed(0)
    nets = DCGAN().build(cfg)
    g, d = nets["generator"].to(device).train(), nets["discriminator"].to(device).train()
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
    loader = torch.utils.data.DataLoader(
        NumpyImages(images),
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    crit = nn.BCEWithLogitsLoss()
    bs = cfg.batch_size
    ones = torch.ones(bs, device=device)
    zeros = torch.zeros(bs, device=device)
    done, t0 = 0, 0.0
    while True:
        for real in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            real = real.to(device)
            d.zero_grad()
            err_real = crit(d(real), ones)
            err_real.backward()
            z = torch.randn(bs, cfg.z_dim, 1, 1, device=device)
            fake = g(z)
            err_fake = crit(d(fake.detach()), zeros)
            err_fake.backward()
            opt_d.step()
            g.zero_grad()
            err_g = crit(d(fake), ones)
            err_g.backward()
            opt_g.step()
            done += 1
            if done == warmup + steps:
                err_g.item()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                return steps * bs / (time.perf_counter() - t0)


def bench_ganedit(
    cfg: DCGANConfig, images: np.ndarray, device: torch.device, steps: int, warmup: int
) -> float:
    fam = DCGAN()
    engine = Engine(device=str(device), precision="fp32", seed=0)
    nets = engine.setup(fam.build(cfg))
    opts = fam.optimizers(nets, cfg)
    data = fam_data(images).setup(engine.device, seed=0)
    assert data.resident, "benchmark data should be device-resident"
    engine.data = data  # as fit() does: the measured memory format reaches the batches too
    latent = fam.latent(16, cfg, torch.Generator().manual_seed(0)).to(engine.device)
    print(
        f"  ganedit memory format: {engine.choose_memory_format(fam, cfg, {'latent': latent}).describe()}"
    )
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        step = Step(nets, opts, cfg, engine, {}, i)
        losses = fam.training_step(step, data.next_batch(cfg.batch_size))
    losses["g"].item()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def fam_data(images: np.ndarray) -> datasets.TrainData:
    return datasets.tensor_images(images, channels=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=0, help="baseline DataLoader workers")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    cfg = update_config(
        DCGANConfig(),
        {
            "image_size": 32,
            "channels": 1,
            "ngf": args.ngf,
            "ndf": args.ndf,
            "batch_size": args.batch_size,
            "ema_decay": 0,
        },
    )
    images = load_images(args.images)
    print(f"machine: {machine(device)}")
    print(
        f"DCGAN 32x32x1 ngf={args.ngf} ndf={args.ndf} batch {args.batch_size}, fp32, "
        f"{args.steps} timed steps after {args.warmup} warm-up, best of {args.repeats}"
    )
    base, ours = [], []
    for r in range(args.repeats):
        base.append(bench_baseline(cfg, images, device, args.steps, args.warmup, args.workers))
        ours.append(bench_ganedit(cfg, images, device, args.steps, args.warmup))
        print(
            f"  repeat {r + 1}: baseline {base[-1]:.1f} img/s, ganedit {ours[-1]:.1f} img/s",
            flush=True,
        )
    b, o = max(base), max(ours)
    print(f"baseline (DataLoader, per-item float, classic loop): {b:.1f} img/s")
    print(f"ganedit (Engine + DCGAN.training_step, resident uint8): {o:.1f} img/s")
    print(f"ratio ganedit / baseline: {o / b:.2f}x")


if __name__ == "__main__":
    main()
