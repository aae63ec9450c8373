"""Train the project's Fashion-MNIST classifier (the DCGAN plugin's quality yardstick).

A plain supervised loop on the CPU (a classifier is not a GAN; the GAN engine is not needed):
the 60k training images zero-padded to 32x32 (``--size 32``) or resized to 64x64 with
``cv2.INTER_CUBIC`` as the translation data is made (``--size 64``), random horizontal flips and
shifts of +-size/16 px, AdamW with a one-cycle schedule, a few epochs, channels_last (measured
faster on the CPU for these convnets). Writes fp16 safetensors plus a JSON card holding the test
accuracy on the 10k test set::

    .venv/bin/python scripts/train_fashion_classifier.py \
        --data data/fashion-mnist --out ganedit/metric_weights/fashion-classifier.safetensors
    .venv/bin/python scripts/train_fashion_classifier.py --size 64 --seed 1 \
        --data data/fashion-mnist --out ganedit/metric_weights/fashion-classifier-64.safetensors
"""

from __future__ import annotations

import argparse
import gzip
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ganedit_dcgan.classifier import CLASSES, FashionClassifier

from ganedit.weights import save_weights


def read_idx(path: Path) -> np.ndarray:
    """An idx (optionally gzipped) file as a numpy array (uint8 images N x 28 x 28, labels N)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte idx file")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


INPUTS = {
    32: "1x32x32 float [0,1], 28x28 zero-padded by 2",
    64: "1x64x64 float [0,1], 28x28 resized with cv2.INTER_CUBIC",
}


def load_split(root: Path, split: str, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 1, size, size)`` uint8 images and ``(N,)`` int64 labels.

    ``size`` 32: zero-padded by 2; ``size`` 64: each item ``cv2.resize(..., INTER_CUBIC)``.
    """
    x = read_idx(root / f"{split}-images-idx3-ubyte.gz")
    y = read_idx(root / f"{split}-labels-idx1-ubyte.gz")
    if size == 64:
        import cv2

        x = np.stack([cv2.resize(v, (64, 64), interpolation=cv2.INTER_CUBIC) for v in x])
        xt = torch.from_numpy(x).unsqueeze(1)
    else:
        xt = F.pad(torch.from_numpy(x.copy()).unsqueeze(1), (2, 2, 2, 2))
    return xt, torch.from_numpy(y.astype(np.int64))


@torch.no_grad()
def accuracy(net: FashionClassifier, x: torch.Tensor, y: torch.Tensor, bs: int = 1000) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(x), bs):
        xb = (x[i : i + bs].float() / 255).contiguous(memory_format=torch.channels_last)
        pred = net(xb).argmax(1)
        correct += int((pred == y[i : i + bs]).sum())
    return correct / len(x)


def augment(xb: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a +-side/16 px shift of a ``(N, 1, S, S)`` float batch."""
    n, r = xb.shape[0], xb.shape[-1] // 16
    flip = torch.rand(n, generator=g) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    dx, dy = (int(v) for v in torch.randint(-r, r + 1, (2,), generator=g))
    return torch.roll(xb, shifts=(dy, dx), dims=(-2, -1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data/fashion-mnist"))
    ap.add_argument(
        "--out", type=Path, default=Path("ganedit/metric_weights/fashion-classifier.safetensors")
    )
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=32, choices=(32, 64))
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    xtr, ytr = load_split(args.data, "train", args.size)
    xte, yte = load_split(args.data, "t10k", args.size)
    net = FashionClassifier(width=args.width, size=args.size).to(memory_format=torch.channels_last)
    steps_per_epoch = len(xtr) // args.batch_size
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch
    )
    t0 = time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        running = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            xb = augment(xtr[idx].float() / 255, g).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach())
            if (i + 1) % 100 == 0:
                print(
                    f"epoch {epoch + 1} step {i + 1}/{steps_per_epoch} loss {running / 100:.4f} "
                    f"({time.time() - t0:.0f}s)",
                    flush=True,
                )
                running = 0.0
        print(f"epoch {epoch + 1}: test accuracy {accuracy(net, xte, yte):.4f}", flush=True)
    seconds = time.time() - t0
    test_acc = accuracy(net, xte, yte)
    train_acc = accuracy(net, xtr[:10000], ytr[:10000])
    card = {
        "family": "fashion-classifier",
        "config": {"width": args.width, "size": args.size, "input": INPUTS[args.size]},
        "classes": list(CLASSES),
        "training": {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "data": "Fashion-MNIST train (60000 images)",
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "machine": f"{platform.machine()} {platform.processor() or ''} torch {torch.__version__} "
            f"threads {torch.get_num_threads()}".strip(),
        },
        "metrics": {
            "test_accuracy": round(test_acc, 4),
            "test_images": len(xte),
            "train_accuracy_first_10k": round(train_acc, 4),
        },
        "license": "MIT (weights); Fashion-MNIST data MIT (Zalando Research)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(args.out, net.state_dict(), card, dtype=torch.float16)
    print(f"test accuracy {test_acc:.4f}; wrote {args.out} ({seconds:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
