"""Quality figures for DCGAN samples of Fashion-MNIST (``ganedit eval dcgan``).

No Inception weights are available offline, so every figure uses the project's own classifier
(:mod:`ganedit.metrics`: :class:`~ganedit.metrics.FashionClassifier`, 96-d penultimate
features; the Fréchet distance is :func:`ganedit.metrics.frechet_distance`):

* ``frechet_distance``: Fréchet distance between Gaussians fitted to the classifier features of
  the samples and of the 10k Fashion-MNIST test images ("FID" with our classifier instead of
  Inception; figures are not comparable with published FIDs).
* per-class rows: the share of samples the classifier puts in each of the 10 classes (a missing
  class is mode collapse); ``min_class_share`` and ``classes_covered`` (share >= 1%) summarise.
  ``share_c64`` / ``min_class_share_c64``: the same under the independent 64 px classifier
  (:data:`~ganedit.metrics.CLASSIFIER_64_WEIGHTS`, which no DCGAN run or choice
  used; 32x32 samples lose their 2 px zero border and are resized 28 -> 64 bicubically, as
  that classifier's training items were).
* ``precision`` / ``recall``: improved precision and recall (Kynkäänniemi et al. 2019, k = 3)
  in the same features, on the first ``pr_n`` (5000) samples and test images: the share of
  samples inside the real items' k-NN manifold, and the share of real items inside the
  samples' (coverage; mode collapse lowers it).
* ``nn_pixel_l2``: mean over samples of the Euclidean distance, in pixel space (32x32 gray,
  values in ``[0, 1]``, so the range is 0 to 32), to the nearest of the 60k training images.
  Near 0 means the generator copies training images.

The floor (``reference=True``, or ``python -m ganedit_dcgan.evaluate --reference``): the same
figures for real data, the 10k *test* images taken as the samples: Fréchet distance against 10k
training images (a perfect generator draws from the data distribution independently of the
test set), their class shares, and their nearest-neighbour distance to the training set.

Command line::

    ganedit eval dcgan [--weights W] [--n 10000] [--data data/fashion-mnist] [--json]
    python -m ganedit_dcgan.evaluate --reference [--data data/fashion-mnist] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganedit
from ganedit import data as datasets
from ganedit.metrics import (
    CLASSES,
    CLASSIFIER_64_WEIGHTS,
    CLASSIFIER_WEIGHTS,
    FashionClassifier,
    features_and_predictions,
    frechet_distance,
    gaussian_stats,
    load_classifier,
    prepare,
)

__all__ = [
    "class_shares",
    "evaluate_generator",
    "features_and_predictions",
    "frechet_distance",
    "gaussian_stats",
    "independent_predictions",
    "load_fashion_split",
    "knn_radii",
    "nearest_neighbour_distance",
    "precision_recall",
    "reference_figures",
]

DEFAULT_DATA = Path("data/fashion-mnist")


# ------------------------------------------------------------------------------------ maths
def nearest_neighbour_distance(
    queries: torch.Tensor, reference: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    """Euclidean distance from each query to its nearest reference row.

    Args:
        queries: ``(N, D)`` float. reference: ``(M, D)`` float (same D).
        chunk: queries per matrix product.

    Returns:
        ``(N,)`` float32 distances (``>= 0``).
    """
    q = queries.float().flatten(1)
    r = reference.float().flatten(1)
    r2 = (r * r).sum(1)
    out = []
    for i in range(0, q.shape[0], chunk):
        qi = q[i : i + chunk]
        d2 = (qi * qi).sum(1, keepdim=True) + r2[None] - 2 * qi @ r.T
        out.append(d2.min(1).values.clamp_min(0).sqrt())
    return torch.cat(out)


def _pairwise_sq(a: torch.Tensor, b: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """``(N, M)`` squared Euclidean distances between rows of ``a`` and ``b`` (float32)."""
    b2 = (b * b).sum(1)
    rows = []
    for i in range(0, a.shape[0], chunk):
        ai = a[i : i + chunk]
        rows.append(((ai * ai).sum(1, keepdim=True) + b2[None] - 2 * ai @ b.T).clamp_min(0))
    return torch.cat(rows)


def knn_radii(features: torch.Tensor, k: int = 3) -> torch.Tensor:
    """``(N,)`` squared distance from each row to its ``k``-th nearest other row."""
    d2 = _pairwise_sq(features, features)
    return d2.kthvalue(k + 1, dim=1).values  # the 1st is the row itself (distance 0)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) in a feature space.

    Each set's manifold is the union of balls around its points reaching their ``k``-th
    nearest neighbour. Precision: the share of ``fake`` inside the real manifold (samples that
    look real). Recall: the share of ``real`` inside the fake manifold (how much of the data
    the samples cover; mode collapse lowers it).

    Args:
        real: ``(N, D)`` float features of real items. fake: ``(M, D)`` of samples.
        k: neighbourhood size (3, as the paper).

    Returns:
        ``(precision, recall)``, each in ``[0, 1]``.
    """
    r, f = real.float().flatten(1), fake.float().flatten(1)
    real_r, fake_r = knn_radii(r, k), knn_radii(f, k)
    inside_real = (_pairwise_sq(f, r) <= real_r[None]).any(1)
    inside_fake = (_pairwise_sq(r, f) <= fake_r[None]).any(1)
    return float(inside_real.float().mean()), float(inside_fake.float().mean())


def class_shares(predictions: torch.Tensor, num_classes: int = 10) -> np.ndarray:
    """``(num_classes,)`` float64 share of each class among ``(N,)`` int predictions."""
    counts = torch.bincount(predictions.flatten().long().cpu(), minlength=num_classes)
    return counts.double().numpy() / max(1, int(predictions.numel()))


# ------------------------------------------------------------------------------------- data
def load_fashion_split(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST ``split`` ("train" or "t10k") from the folder ``root``.

    Returns:
        ``(N, 1, 32, 32)`` uint8 images (28x28 zero-padded by 2) and ``(N,)`` int64 labels.
    """
    root = Path(root)
    if root.is_file():
        root = root.parent
    found = {}
    for kind, tag in (("images", "images-idx3"), ("labels", "labels-idx1")):
        cands = (
            sorted(p for p in root.glob(f"{split}-{tag}-ubyte*") if p.is_file())
            if root.is_dir()
            else []
        )
        if not cands:
            raise FileNotFoundError(
                f"{root}: no Fashion-MNIST {split}-{tag}-ubyte[.gz] file (run scripts/fetch_data.py "
                "or pass --data FOLDER)"
            )
        found[kind] = cands[0]
    imgs = datasets.read_idx(found["images"])
    labels = datasets.read_idx(found["labels"])
    x = torch.nn.functional.pad(
        torch.from_numpy(np.ascontiguousarray(imgs)).unsqueeze(1), (2, 2, 2, 2)
    )
    return x, torch.from_numpy(labels.astype(np.int64))


def independent_predictions(samples: torch.Tensor) -> torch.Tensor:
    """Classes of ``samples`` under the independent 64 px classifier.

    Args:
        samples: ``(N, C, H, W)`` uint8 or float in [0, 1]; 32x32 ones are taken as 28x28
            items zero-padded by 2 (the dcgan data at ``image_size`` 32) and cropped back.

    Returns:
        ``(N,)`` int64 class indices.
    """
    net, _ = load_classifier(CLASSIFIER_64_WEIGHTS)
    if samples.shape[-2:] == (32, 32):
        samples = samples[..., 2:30, 2:30]
    return features_and_predictions(net, samples)[1]


# ------------------------------------------------------------------------------- evaluation
def _figures(
    net: FashionClassifier,
    samples: torch.Tensor,
    fd_against: torch.Tensor,
    train: torch.Tensor,
    nn_n: int,
    real_shares: np.ndarray,
    pr_n: int = 5000,
) -> ganedit.EvalResult:
    t0 = time.time()
    feats, preds = features_and_predictions(net, samples)
    ref_feats, _ = features_and_predictions(net, fd_against)
    fd = frechet_distance(*gaussian_stats(feats), *gaussian_stats(ref_feats))
    m = min(pr_n, feats.shape[0], ref_feats.shape[0])
    precision, recall = precision_recall(ref_feats[:m], feats[:m])
    shares = class_shares(preds)
    shares_c64 = class_shares(independent_predictions(samples))
    q = prepare(samples[:nn_n]).flatten(1)
    nn_d = nearest_neighbour_distance(q, prepare(train).flatten(1))
    rows = [
        {
            "class": i,
            "name": CLASSES[i],
            "share": float(shares[i]),
            "share_c64": float(shares_c64[i]),
            "test_share": float(real_shares[i]),
        }
        for i in range(10)
    ]
    summary = {
        "frechet_distance": fd,
        "precision": precision,
        "recall": recall,
        "pr_n": m,
        "min_class_share": float(shares.min()),
        "classes_covered": int((shares >= 0.01).sum()),
        "min_class_share_c64": float(shares_c64.min()),
        "nn_pixel_l2": float(nn_d.mean()),
        "nn_pixel_l2_min": float(nn_d.min()),
        "n": int(samples.shape[0]),
        "nn_n": int(q.shape[0]),
        "seconds": round(time.time() - t0, 1),
    }
    return {"rows": rows, "summary": summary}


def _data_root(data: Sequence[Path | str]) -> Path:
    return Path(data[0]) if data else DEFAULT_DATA


def evaluate_generator(
    editor: Any, data: Sequence[Path | str], options: Mapping[str, Any]
) -> ganedit.EvalResult:
    """``DCGAN.evaluate``: figures for ``options["n"]`` samples (default 10000) of ``editor``.

    Args:
        editor: a loaded :class:`ganedit.Editor` of a dcgan model (``sample(n, seed)`` ->
            ``(n, H, W, C)`` uint8).
        data: the Fashion-MNIST folder (default ``data/fashion-mnist``).
        options: ``n`` (samples), ``seed`` (latents), ``nn_n`` (samples used for the
            nearest-neighbour distance, default 2000), ``reference`` (True: the real-data
            floor instead; the editor is not used), ``classifier`` (weights path).

    Returns:
        ``{"rows": [one per class: class, name, share, test_share], "summary": {...}}``.
    """
    root = _data_root(data)
    n = int(options.get("n") or 10000)
    seed = int(options.get("seed") or 0)
    nn_n = int(options.get("nn_n") or 2000)
    net, _card = load_classifier(options.get("classifier") or CLASSIFIER_WEIGHTS)
    train, _ = load_fashion_split(root, "train")
    test, test_labels = load_fashion_split(root, "t10k")
    real_shares = class_shares(test_labels)
    if options.get("reference"):
        g = torch.Generator().manual_seed(seed)
        sub = train[torch.randperm(train.shape[0], generator=g)[: min(n, train.shape[0])]]
        result = _figures(net, test[:n], sub, train, min(nn_n, n), real_shares)
        result["summary"]["reference"] = "Fashion-MNIST test set vs training set"
        return result
    imgs = editor.sample(n, seed=seed)  # (n, H, W, C) uint8
    samples = torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2)
    return _figures(net, samples, test, train, min(nn_n, n), real_shares)


def reference_figures(
    data: Sequence[Path | str] = (), n: int = 10000, nn_n: int = 2000
) -> ganedit.EvalResult:
    """The real-data floor (see the module docstring)."""
    return evaluate_generator(None, data, {"n": n, "nn_n": nn_n, "reference": True})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ganedit_dcgan.evaluate", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--weights", type=Path, default=None, help="dcgan weights (default: bundled)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--nn-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference", action="store_true", help="figures for the real test set")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    opts = {"n": args.n, "nn_n": args.nn_n, "seed": args.seed, "reference": args.reference}
    editor = None
    if not args.reference:
        import ganedit

        editor = ganedit.load("dcgan", weights=args.weights, device="cpu")
    result = evaluate_generator(editor, [args.data], opts)
    if args.json:
        print(json.dumps(result))
    else:
        for r in result["rows"]:
            print(
                f"{r['class']}  {r['name']:<12} share {r['share']:.4f}  (test {r['test_share']:.4f})"
            )
        for k, v in result["summary"].items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
