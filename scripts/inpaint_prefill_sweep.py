"""Choose the inpaint pre-fill's Jacobi sweeps (``smooth_iters``) on the training photos.

For every photo under ``--data`` (default: ``data/photos/train`` and ``data/photos/val``, the
photos the inpaint weights were trained and checked on; never ``data/inpaint-test``), at most
512 px, with the seeded masks ``ganedit eval inpaint`` uses: the hole PSNR of the smooth
pre-fill alone for each sweep count, and of cv2.inpaint TELEA and NS. Prints, per mask kind,
the mean of each and the pre-fill's gain over the better cv2 method, and the seconds one
pre-fill takes per image; ``--out`` also writes them as JSON::

    .venv/bin/python scripts/inpaint_prefill_sweep.py --iters 0,16,64,256,1024 \
        [--kinds thick,medium,thin] [--out runs/prefill-sweep/result.json]

(``OMP_NUM_THREADS=1`` keeps it to one core beside other jobs.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from ganedit_inpaint.evaluate import (
    _images,
    _mask_for,
    cv2_fill,
    hole_psnr,
    prepare_image,
    smooth_baseline,
)

from ganedit.io import read_image

ROOT = Path(__file__).resolve().parents[1]


def sweep(images: list, kind: str, iters: list[int]) -> dict[str, float]:
    """Mean hole PSNR per method for one mask kind, the gains, and seconds per pre-fill."""
    rows, seconds = [], {k: 0.0 for k in iters}
    for i, (root, path) in enumerate(images):
        img = prepare_image(read_image(path), 512)
        hole = _mask_for(kind, root, path, i, img.shape[:2], 0)
        row = {m: hole_psnr(cv2_fill(img, hole, m), img, hole) for m in ("telea", "ns")}
        for k in iters:
            t0 = time.perf_counter()
            row[f"s{k}"] = hole_psnr(smooth_baseline(img, hole, k), img, hole)
            seconds[k] += time.perf_counter() - t0
        rows.append(row)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    best = max(mean["telea"], mean["ns"])
    mean.update({f"gain_s{k}": mean[f"s{k}"] - best for k in iters})
    mean.update({f"seconds_s{k}": seconds[k] / len(images) for k in iters})
    return mean


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", type=Path, help="photo folder (repeatable)")
    ap.add_argument("--iters", default="0,16,64,256,1024", help="sweep counts, comma-separated")
    ap.add_argument("--kinds", default="thick,medium,thin", help="mask kinds, comma-separated")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args()
    folders = args.data or [ROOT / "data/photos/train", ROOT / "data/photos/val"]
    if any("inpaint-test" in str(f) for f in folders):
        raise SystemExit("data/inpaint-test is the held-out set: choose on the training photos")
    images = _images({"data": folders}, None)
    iters = [int(v) for v in args.iters.split(",")]
    result = {}
    for kind in args.kinds.split(","):
        result[kind] = sweep(images, kind, iters)
        print(kind, {k: round(v, 3) for k, v in result[kind].items()}, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
