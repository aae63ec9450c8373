"""Quality figures for ``ganedit eval pix2pix``, ``ganedit eval cyclegan`` and ``ganedit eval cut``.

No pretrained perception network may be downloaded, so the figures are pixel metrics
(PSNR = 10 log10(1 / MSE) per image, SSIM from :mod:`kornia.metrics`, both on the 8-bit
outputs a file would hold) and, for Fashion-MNIST data, figures in the feature space of the
project's 64 px classifier (:data:`ganedit.metrics.CLASSIFIER_64_WEIGHTS`, trained on
the items resized to 64x64 exactly as this data is made; used by no training run or checkpoint
choice). ``*_c32`` keys repeat the accuracies under the older 32 px classifier (images brought
back to 28x28, antialiased bilinear, zero-padded to 32), which chose the pix2pix export.

pix2pix (paired: ``--data DIR`` of ``A|B`` images, or ``--data a=DIR --data b=DIR``):

* ``psnr``, ``ssim``: each output against its target, mean over the images.
* ``mean_image_psnr`` / ``mean_image_ssim``: the same for one fixed image, the mean of the
  training targets (``DIR/../train`` when it exists, else the evaluated targets): the floor a
  model that ignores its input reaches.
* With a ``labels.csv`` (``file,label``) beside the images (``scripts/make_translation_data.py``
  writes one): ``accuracy`` (classifier on the outputs vs the true class), ``target_accuracy``
  (on the real items), ``input_accuracy`` (on the edge maps themselves), ``frechet_distance``
  (classifier features of the outputs vs the real items) and its floor, and one row per class.

CycleGAN and CUT (``--data a=DIR --data b=DIR``, or ``--data DIR`` holding ``testA/`` and
``testB/``), for each direction ``a2b`` and ``b2a``:

* ``content``: :func:`ganedit.metrics.content_score`: the share of trials where an output,
  Gaussian-blurred (sigma 2 px), is nearer to its own blurred input than to a random other
  input of the same domain (10 draws per output, ``--seed``); 0.5 = chance.
* ``cycle_psnr``: ``b2a(a2b(a))`` against ``a`` (and the other way round); CUT has no cycle
  loss, so for it this only shows how much the two independent maps undo each other.
* ``structure_nn``: share of outputs nearer (pixel L2) to their own input than to every other
  input; ``structure_pair``: share of (own, other) input pairs where the own one is nearer
  (0.5 = chance). ``*_centred``: the same after subtracting each set's mean image, so that
  the shape every output shares (a boot) does not drown what each kept of its own input.
* With a ``classes.json`` (``{"a": 7, "b": 9}``) in the folder above the domains:
  ``target_share`` (outputs classified as the target domain's class), ``input_share`` (the
  unchanged inputs' share of that class: the baseline), ``frechet_distance`` of the outputs
  and ``input_frechet_distance`` of the unchanged inputs, both to the real target domain.
* With ``--sheets DIR``: ``DIR/<family>-a2b.png`` and ``DIR/<family>-b2a.png``, the first 48
  inputs of each direction as 8 rows of 6 ``input | output`` pairs (gray gaps).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from kornia.metrics import ssim

import ganedit
from ganedit.data import DatasetError
from ganedit.io import read_image, walk_inputs, write_image
from ganedit.metrics import (
    CLASSES,
    CLASSIFIER_64_WEIGHTS,
    FashionClassifier,
    content_score,
    features_and_predictions,
    frechet_distance,
    gaussian_stats,
    load_classifier,
)

__all__ = [
    "classifier_input",
    "sample_sheet",
    "evaluate_cyclegan",
    "evaluate_pix2pix",
    "image_metrics",
    "structure_kept",
    "translate",
]

DEFAULT_PIX2PIX_DATA = Path("data/fashion-edges/test")
DEFAULT_CYCLE_DATA = Path("data/fashion-cycle")


# ------------------------------------------------------------------------------------ pieces
def _tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` uint8/uint16 -> ``(C, H, W)`` float32 in [0, 1]."""
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / scale


def _channels(x: torch.Tensor, c: int) -> torch.Tensor:
    from ganedit_translate.pix2pix import to_channels

    return to_channels(x, c)


@torch.no_grad()
def translate(editor: Any, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Run ``editor`` over ``images`` in batches and quantise to 8 bits as a file would.

    Args:
        editor: a loaded IMAGE editor (``ganedit.load``).
        images: ``(N, C, H, W)`` float32 in [0, 1] (converted to the editor's channels).

    Returns:
        ``(N, out_channels, H, W)`` float32 in [0, 1], multiples of 1/255, on the CPU.
    """
    out = []
    for i in range(0, images.shape[0], batch):
        x = _channels(images[i : i + batch], editor.in_channels)
        y = editor(x).float().cpu()
        out.append((y * 255).round() / 255)
    return torch.cat(out)


def image_metrics(out: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image PSNR (dB, peak 1) and SSIM (11x11 Gaussian window).

    Args:
        out, target: ``(N, C, H, W)`` float in [0, 1] (target converted to ``out``'s C).

    Returns:
        ``(N,)`` PSNR and ``(N,)`` SSIM, float32 (PSNR capped at 100 dB for equal images).
    """
    target = _channels(target, out.shape[1])
    mse = ((out - target) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    p = 10 * torch.log10(1.0 / mse)
    s = ssim(out, target, 11).flatten(1).mean(1)
    return p.clamp(max=100.0), s


def classifier_input(x: torch.Tensor, size: int = 32) -> torch.Tensor:
    """``(N, C, H, W)`` float [0, 1] -> a classifier's 1-channel input.

    ``size`` 32: ``(N, 1, 28, 28)`` (antialiased bilinear), which
    :func:`ganedit.metrics.prepare` pads to 32x32 as in that classifier's training;
    ``size`` 64: ``(N, 1, H, W)`` unchanged in size (64 px items pass straight through).
    """
    x = _channels(x, 1)
    if size == 32 and x.shape[-2:] != (28, 28):
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(0, 1)


def _yardstick() -> FashionClassifier:
    """The independent 64 px classifier (eval mode, CPU)."""
    return load_classifier(CLASSIFIER_64_WEIGHTS)[0]


def _classify(net: FashionClassifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return features_and_predictions(net, classifier_input(x, net.size))


def structure_kept(outputs: torch.Tensor, inputs: torch.Tensor) -> tuple[float, float]:
    """How much of each input's layout its output keeps, in pixel space.

    Args:
        outputs, inputs: ``(N, C, H, W)`` float, output ``i`` made from input ``i``; N >= 2.

    Returns:
        ``(nn_share, pair_share)``: the share of outputs whose nearest input (L2) is their own,
        and the share of (own, other) pairs where the own input is strictly nearer.
    """
    o, x = outputs.flatten(1).double(), _channels(inputs, outputs.shape[1]).flatten(1).double()
    d = torch.cdist(o, x)  # (N, N)
    own = d.diagonal()[:, None]
    n = d.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    other = d.masked_fill(eye, float("inf"))
    nn_share = float((own[:, 0] < other.min(1).values).double().mean())
    pair_share = float(((own < other) & ~eye).double().sum() / (n * (n - 1)))
    return nn_share, pair_share


def _images(paths: Sequence[Path], n: int | None) -> tuple[list[Path], torch.Tensor]:
    """Every image under ``paths`` (sorted, first ``n``) as one ``(N, C, H, W)`` tensor."""
    walked = walk_inputs([Path(p) for p in paths])
    if walked.missing:
        raise DatasetError(f"evaluation data not found: {walked.missing[0]}")
    files = [it.path for it in walked.items][:n]
    if not files:
        raise DatasetError(f"no images found in {', '.join(str(p) for p in paths)}")
    imgs = [_tensor(read_image(p)) for p in files]
    shapes = {t.shape for t in imgs}
    if len(shapes) > 1:
        raise DatasetError(f"evaluation images differ in size ({len(shapes)} sizes) in {paths[0]}")
    return files, torch.stack(imgs)


def _split_pairs(x: torch.Tensor, b_to_a: bool) -> tuple[torch.Tensor, torch.Tensor]:
    w = x.shape[-1] // 2
    a, b = x[..., :w], x[..., w : 2 * w]
    return (b, a) if b_to_a else (a, b)


def _labels(folder: Path, files: Sequence[Path]) -> torch.Tensor | None:
    table = folder / "labels.csv"
    if not table.is_file():
        return None
    with open(table, newline="") as f:
        by_name = {r["file"]: int(r["label"]) for r in csv.DictReader(f)}
    if not all(p.name in by_name for p in files):
        return None
    return torch.tensor([by_name[p.name] for p in files])


# ----------------------------------------------------------------------------------- pix2pix
def _pix2pix_pairs(
    data: Mapping[str, Sequence[Path]], b_to_a: bool, n: int | None
) -> tuple[list[Path], torch.Tensor, torch.Tensor, Path | None]:
    """``(files, inputs, targets, side-by-side folder or None)`` from ``data``."""
    if "a" in data or "b" in data:
        if not (data.get("a") and data.get("b")):
            raise DatasetError("pix2pix eval: give both --data a=DIR and --data b=DIR")
        files, x = _images(data["a"], n)
        root_b = Path(data["b"][0])
        partners = [root_b / p.relative_to(Path(data["a"][0])) for p in files]
        absent = [p for p in partners if not p.is_file()]
        if absent:
            raise DatasetError(f"pix2pix eval: no partner {absent[0]} for {files[0]}")
        return files, x, torch.stack([_tensor(read_image(p)) for p in partners]), None
    roots = list(data.get("data") or [DEFAULT_PIX2PIX_DATA])
    files, ab = _images(roots, n)
    x, y = _split_pairs(ab, b_to_a)
    return files, x, y, Path(roots[0])


def _mean_target(folder: Path | None, targets: torch.Tensor, b_to_a: bool) -> tuple[Any, str]:
    """The mean training target (``folder/../train``) or, failing that, the evaluated one."""
    train = folder.parent / "train" if folder is not None else None
    if folder is not None and train is not None and train.is_dir() and train != folder:
        _, ab = _images([train], None)
        return _split_pairs(ab, b_to_a)[1].mean(0, keepdim=True), str(train)
    return targets.mean(0, keepdim=True), "the evaluated targets"


def _fashion_figures(outs: torch.Tensor, x: torch.Tensor, y: torch.Tensor, labels: Any) -> dict:
    """Classifier accuracies and Fréchet distances of pix2pix outputs (Fashion-MNIST)."""
    fig: dict[str, Any] = {}
    for suffix, net in (("", _yardstick()), ("_c32", load_classifier()[0])):
        f_out, p_out = _classify(net, outs)
        f_real, p_real = _classify(net, y)
        _, p_in = _classify(net, x)
        fig[f"accuracy{suffix}"] = float((p_out == labels).double().mean())
        fig[f"target_accuracy{suffix}"] = float((p_real == labels).double().mean())
        fig[f"input_accuracy{suffix}"] = float((p_in == labels).double().mean())
        if not suffix:
            half = f_real.shape[0] // 2
            fig["frechet_distance"] = frechet_distance(
                *gaussian_stats(f_out), *gaussian_stats(f_real)
            )
            fig["frechet_floor_half_vs_half"] = frechet_distance(
                *gaussian_stats(f_real[:half]), *gaussian_stats(f_real[half:])
            )
            fig["_pred"] = p_out
    return fig


def evaluate_pix2pix(
    editor: Any, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
) -> ganedit.EvalResult:
    """``Pix2Pix.evaluate``: see the module docstring.

    Args:
        editor: a loaded pix2pix editor.
        data: ``{"data": [A|B folder]}`` (default ``data/fashion-edges/test``) or
            ``{"a": [...], "b": [...]}``.
        options: ``n`` (first n pairs; default all).

    Returns:
        ``{"rows": [...], "summary": {...}}``: rows per class with labels, else per image.
    """
    b_to_a = getattr(editor.config, "direction", "AtoB") == "BtoA"
    files, x, y, folder = _pix2pix_pairs(data, b_to_a, options.get("n"))
    outs = translate(editor, x)
    p, s = image_metrics(outs, y)
    mean_img, mean_from = _mean_target(folder, y, b_to_a)
    mp, ms = image_metrics(_channels(mean_img, outs.shape[1]).expand_as(outs).contiguous(), y)
    summary: dict[str, Any] = {"n": len(files), "psnr": float(p.mean()), "ssim": float(s.mean())}
    summary.update(mean_image_psnr=float(mp.mean()), mean_image_ssim=float(ms.mean()))
    summary["mean_image_from"] = mean_from
    labels = _labels(folder, files) if folder is not None else None
    if labels is None:
        rows = [
            {"image": f.name, "psnr": float(a), "ssim": float(b)}
            for f, a, b in zip(files, p, s, strict=True)
        ]
        return {"rows": rows, "summary": summary}
    fig = _fashion_figures(outs, x, y, labels)
    pred = fig.pop("_pred")
    summary.update(fig)
    rows = []
    for c in range(10):
        sel = labels == c
        if sel.any():
            rows.append(
                {
                    "class": c,
                    "name": CLASSES[c],
                    "n": int(sel.sum()),
                    "psnr": float(p[sel].mean()),
                    "ssim": float(s[sel].mean()),
                    "accuracy": float((pred[sel] == c).double().mean()),
                }
            )
    return {"rows": rows, "summary": summary}


# ---------------------------------------------------------------------------------- cyclegan
def _classes(domains: Mapping[str, Sequence[Path]]) -> dict[str, int] | None:
    parents = {Path(p).resolve().parent for v in domains.values() for p in v}
    if len(parents) != 1:
        return None
    table = parents.pop() / "classes.json"
    if not table.is_file():
        return None
    doc = json.loads(table.read_text())
    return {"a": int(doc["a"]), "b": int(doc["b"])}


def _other_editor(editor: Any, direction: str) -> Any:
    """The editor of the other generator: the same weights, ``direction`` changed."""
    weights = editor.weights_path if editor.weights_path is not None else False
    return ganedit.load(
        type(editor.family), weights=weights, device=str(editor.device), direction=direction
    )


def sample_sheet(inputs: torch.Tensor, outputs: torch.Tensor, per_row: int = 6) -> np.ndarray:
    """``input | output`` pairs side by side, ``per_row`` pairs a row, gray gaps.

    Args:
        inputs, outputs: ``(N, C, H, W)`` float in [0, 1] (C 1 or 3; converted to the
            outputs' C); N >= 1.

    Returns:
        ``(rows * (H + 2) - 2, per_row * (2 W + 6) - 6, C)`` uint8.
    """
    x = _channels(inputs, outputs.shape[1])
    n, c, h, w = outputs.shape
    rows = -(-n // per_row)
    gap = 0.5
    sheet = torch.full((c, rows * (h + 2) - 2, per_row * (2 * w + 6) - 6), gap)
    for i in range(n):
        r, k = divmod(i, per_row)
        top, left = r * (h + 2), k * (2 * w + 6)
        sheet[:, top : top + h, left : left + w] = x[i]
        sheet[:, top : top + h, left + w : left + 2 * w] = outputs[i]
    return (sheet.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def _direction_figures(
    name: str,
    fwd: Any,
    back: Any,
    src: torch.Tensor,
    dst: torch.Tensor,
    cls: Any,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Figures of one direction: ``fwd`` maps ``src``'s domain to ``dst``'s."""
    out = translate(fwd, src)
    cyc, _ = image_metrics(translate(back, out), src)
    nn_share, pair_share = structure_kept(out, src)
    seed = int(options.get("seed") or 0)
    fig: dict[str, Any] = {f"{name}_content": content_score(out, src, 2.0, 10, seed)}
    fig[f"{name}_cycle_psnr"] = float(cyc.mean())
    if options.get("sheets"):
        sheet = Path(options["sheets"]) / f"{fwd.family.name}-{name}.png"
        sheet.parent.mkdir(parents=True, exist_ok=True)
        write_image(sheet, sample_sheet(src[:48], out[:48]))
        fig[f"{name}_sheet"] = str(sheet)
    fig.update({f"{name}_structure_nn": nn_share, f"{name}_structure_pair": pair_share})
    src_c = _channels(src, out.shape[1])
    nn_c, pair_c = structure_kept(out - out.mean(0), src_c - src_c.mean(0))
    fig.update({f"{name}_structure_nn_centred": nn_c, f"{name}_structure_pair_centred": pair_c})
    if cls is not None:
        net = _yardstick()
        f_out, p_out = _classify(net, out)
        f_src, p_src = _classify(net, src)
        f_dst, _ = _classify(net, dst)
        ref = gaussian_stats(f_dst)
        fig[f"{name}_target_share"] = float((p_out == cls).double().mean())
        fig[f"{name}_input_share"] = float((p_src == cls).double().mean())
        fig[f"{name}_frechet_distance"] = frechet_distance(*gaussian_stats(f_out), *ref)
        fig[f"{name}_input_frechet_distance"] = frechet_distance(*gaussian_stats(f_src), *ref)
        net32 = load_classifier()[0]
        fig[f"{name}_target_share_c32"] = float((_classify(net32, out)[1] == cls).double().mean())
    return fig


def evaluate_cyclegan(
    editor: Any, domains: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
) -> ganedit.EvalResult:
    """``CycleGAN.evaluate`` and ``CUT.evaluate``: see the module docstring.

    Args:
        editor: a loaded cyclegan or cut editor (either direction; the other generator is
            loaded from the same weights).
        domains: ``{"a": [...], "b": [...]}`` test images of each domain.
        options: ``n`` (first n images of each domain; default all), ``seed`` (of the
            content score's draws), ``sheets`` (folder for the sample sheets, or None).

    Returns:
        ``{"rows": [one per direction], "summary": {...}}``.
    """
    n = options.get("n")
    _, a = _images(domains["a"], n)
    _, b = _images(domains["b"], n)
    mine = editor.generator_name
    nets = {mine: editor, ("b2a" if mine == "a2b" else "a2b"): None}
    other = next(k for k, v in nets.items() if v is None)
    nets[other] = _other_editor(editor, other)
    classes = _classes(domains)
    summary: dict[str, Any] = {"n_a": int(a.shape[0]), "n_b": int(b.shape[0])}
    summary.update(
        _direction_figures("a2b", nets["a2b"], nets["b2a"], a, b, classes and classes["b"], options)
    )
    summary.update(
        _direction_figures("b2a", nets["b2a"], nets["a2b"], b, a, classes and classes["a"], options)
    )
    rows = []
    for d in ("a2b", "b2a"):
        row = {"direction": d}
        row.update({k[4:]: v for k, v in summary.items() if k.startswith(d + "_")})
        rows.append(row)
    return {"rows": rows, "summary": summary}
