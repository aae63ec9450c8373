"""Make the translation data sets of the pix2pix and CycleGAN weights from Fashion-MNIST.

Every 28x28 item is resized to 64x64 with ``cv2.INTER_CUBIC`` (then clipped to uint8).

* ``data/fashion-edges/{train,val,test}/NNNNN.png``: pix2pix ``A|B`` pairs, 128x64 gray: A (left)
  = ``cv2.Canny(item64, 50, 150)`` (``ganedit_translate.edges.edge_map``), B (right) = the
  item. ``train`` holds the first ``--train-n`` items of the training split (default 58000
  of 60000; the pix2pix weights before 2026-12-01 used 20000), ``val`` the next ``--val-n``
  (default 2000; for choices such as EMA or not, never for training), ``test`` all 10000 test items (every class). ``labels.csv`` beside the images:
  ``file,label`` (0..9, the Fashion-MNIST classes).
* ``data/fashion-cycle/{trainA,trainB,testA,testB}/NNNNN.png``: single 64x64 gray items,
  A = Sneaker (class 7), B = Ankle boot (class 9), from the training (6000 each) and test
  (1000 each) splits; ``classes.json`` (``{"a": 7, "b": 9}``) tells ``ganedit eval cyclegan``
  which classifier class each domain is.

Usage (from the repository root, after ``scripts/fetch_data.py``)::

    python scripts/make_translation_data.py [--src data/fashion-mnist] [--out data]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import cv2
import numpy as np
from ganedit_translate.edges import edge_map

from ganedit.data import read_idx
from ganedit.io import write_image

SNEAKER, BOOT = 7, 9


def load_split(src: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 64, 64)`` uint8 items (28 -> 64 bicubic) and ``(N,)`` int64 labels."""
    images = read_idx(next(src.glob(f"{split}-images-idx3-ubyte*")))
    labels = read_idx(next(src.glob(f"{split}-labels-idx1-ubyte*"))).astype(np.int64)
    big = [cv2.resize(x, (64, 64), interpolation=cv2.INTER_CUBIC) for x in images]
    return np.stack(big).astype(np.uint8), labels


def write_pairs(folder: Path, items: np.ndarray, labels: np.ndarray) -> None:
    """``A|B`` PNGs (edges | item) and ``labels.csv`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (item, label) in enumerate(zip(items, labels, strict=True)):
        name = f"{i:05d}.png"
        write_image(folder / name, np.concatenate([edge_map(item, None), item], 1))
        rows.append((name, int(label)))
    with open(folder / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "label"), *rows])


def write_domain(folder: Path, items: np.ndarray) -> None:
    """Single 64x64 PNGs into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(items):
        write_image(folder / f"{i:05d}.png", item)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path("data/fashion-mnist"))
    ap.add_argument("--out", type=Path, default=Path("data"))
    ap.add_argument("--train-n", type=int, default=58000, help="pix2pix training pairs")
    ap.add_argument("--val-n", type=int, default=2000, help="pix2pix validation pairs")
    ap.add_argument("--only-val", action="store_true", help="write only the val pairs")
    args = ap.parse_args()
    t0 = time.time()
    train, train_y = load_split(args.src, "train")
    test, test_y = load_split(args.src, "t10k")
    edges = args.out / "fashion-edges"
    val = slice(args.train_n, args.train_n + args.val_n)
    write_pairs(edges / "val", train[val], train_y[val])
    if args.only_val:
        return
    write_pairs(edges / "train", train[: args.train_n], train_y[: args.train_n])
    write_pairs(edges / "test", test, test_y)
    cycle = args.out / "fashion-cycle"
    for split, x, y in (("train", train, train_y), ("test", test, test_y)):
        write_domain(cycle / f"{split}A", x[y == SNEAKER])
        write_domain(cycle / f"{split}B", x[y == BOOT])
    names = {"a": "Sneaker", "b": "Ankle boot"}
    doc = {"a": SNEAKER, "b": BOOT, "names": names}
    (cycle / "classes.json").write_text(json.dumps(doc) + "\n")
    print(f"wrote {edges} and {cycle} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
