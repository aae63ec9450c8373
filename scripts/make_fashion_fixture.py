"""Make the small Fashion-MNIST test fixture the bundled-weight tests run on (CI included).

``tests/fixtures/fashion-mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz``: the first 500 items of
the Fashion-MNIST test split, then (in test order) the rest of its first 100 sneakers (class 7)
and first 100 ankle boots (class 9). So the fixture's first 500 items, first 300 items and
first 100 items of either class are exactly those the full data gives the tests.

Usage (from the repository root, after ``scripts/fetch_data.py``)::

    python scripts/make_fashion_fixture.py [--src data/fashion-mnist]
"""

from __future__ import annotations

import argparse
import gzip
import struct
from pathlib import Path

import numpy as np

from ganedit.data import read_idx

OUT = Path("tests/fixtures/fashion-mnist")
FIRST, PER_CLASS, CLASSES = 500, 100, (7, 9)


def write_idx(path: Path, array: np.ndarray) -> None:
    """``array`` (uint8) as a gzipped idx file (the MNIST format), byte-for-byte stable."""
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape)
    raw = gzip.compress(header + np.ascontiguousarray(array, np.uint8).tobytes(), 9, mtime=0)
    path.write_bytes(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path("data/fashion-mnist"))
    args = ap.parse_args()
    x = read_idx(next(args.src.glob("t10k-images-idx3-ubyte*")))
    y = read_idx(next(args.src.glob("t10k-labels-idx1-ubyte*")))
    keep = set(range(FIRST))
    for c in CLASSES:
        keep.update(int(i) for i in np.nonzero(y == c)[0][:PER_CLASS])
    order = sorted(keep)
    OUT.mkdir(parents=True, exist_ok=True)
    write_idx(OUT / "t10k-images-idx3-ubyte.gz", x[order])
    write_idx(OUT / "t10k-labels-idx1-ubyte.gz", y[order])
    print(f"{len(order)} items -> {OUT}")


if __name__ == "__main__":
    main()
