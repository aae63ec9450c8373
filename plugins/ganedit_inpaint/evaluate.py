"""``ganedit eval inpaint``: hole PSNR / SSIM, edge F1 and gradient-energy ratio of the model
beside ``cv2.inpaint`` TELEA and NS, and sample sheets.

Protocol (the same for the model and both baselines, on the same pixels and masks):

1. Each image under ``--data`` (sorted by path; at most ``--n``) is read, converted to RGB
   uint8 (alpha dropped, gray repeated, 16-bit scaled to 8), and downscaled (``INTER_AREA``)
   so that its longer side is at most ``eval_size`` (512) pixels.
2. Masks, per kind of ``eval_masks`` (``"thin,medium,thick"``): for a generated kind, image
   ``i`` gets :class:`ganedit.data.MaskGenerator` ``(kind).from_seeds([seed * 100003 + i])``
   at its size (``--seed``, default 0: the same masks on every run); for a folder, the mask
   file at the image's relative path (any suffix; resized nearest).
3. The model fills the hole through its editor; ``cv2.inpaint`` with ``INPAINT_TELEA`` and
   ``INPAINT_NS``, radius 3, fills the same image and mask; ``smooth`` is the model's own
   smooth pre-fill alone (:func:`~ganedit_inpaint.compose.smooth_fill`, multigrid pull-push
   + Laplace sweeps, no network), shown so that what the network adds is visible.
4. Metrics on [0, 1] values, counted over the hole pixels only (all three channels):
   ``hole PSNR = 10 log10(1 / mean_hole((y - x)^2))``; ``hole SSIM`` = the mean over the hole
   pixels of the per-pixel SSIM map (:func:`kornia.metrics.ssim`, 11x11 Gaussian window,
   sigma 1.5, ``same`` padding, computed on the whole image, per channel).
   What a person sees (:mod:`ganedit.metrics`, on the hole's interior: the hole without its
   1-px rim): ``edge_f1``, Canny edges of the fill against those of the original matched
   within 3 px (:func:`ganedit.metrics.edge_f1`); ``energy``, the mean Sobel magnitude of
   the fill over the original's (:func:`ganedit.metrics.gradient_energy_ratio`; 1 = as
   detailed as the photo, a blur about 0.2, noise above 1.3).
5. ``outside_changed`` counts the model's pixels outside the hole that differ from the input
   (0 when compositing holds).
6. Sheets: into ``--sheets DIR`` when given, else the Config's ``eval_sheets`` (default
   ``inpaint-eval-sheets``, relative to the working directory; ``""`` = none),
   ``<folder>/<kind>.png`` shows one row per image:
   before (the original) | mask | model | TELEA, each panel 192 px high.

The summary has, per mask kind, the mean of each column (images whose hole has no interior
are left out of the ``energy`` means) and ``<kind>_gain_db``: the model's mean hole PSNR minus
the better of the two baselines' means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

import ganedit
from ganedit import data as gdata
from ganedit.io import IMAGE_EXTENSIONS, read_image, read_mask, write_image
from ganedit.metrics import edge_f1, gradient_energy_ratio
from ganedit_inpaint.compose import cv2_fill, smooth_fill

__all__ = [
    "cv2_fill",
    "evaluate_inpaint",
    "hole_psnr",
    "hole_ssim",
    "prepare_image",
    "smooth_baseline",
    "summarize",
    "write_sheet",
]

METHODS = ("model", "telea", "ns", "smooth")
QUANTITIES = ("psnr", "ssim", "edge_f1", "energy")
SHEET_HEIGHT = 192


def prepare_image(img: np.ndarray, max_side: int) -> np.ndarray:
    """A :func:`ganedit.io.read_image` result as ``(H, W, 3)`` uint8 RGB, longer side at most
    ``max_side`` (``INTER_AREA``; unchanged when already small enough)."""
    a = img[:, :, None] if img.ndim == 2 else img
    a = a[:, :, :3] if a.shape[2] >= 3 else np.repeat(a[:, :, :1], 3, 2)
    if a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    h, w = a.shape[:2]
    if max(h, w) > max_side > 0:
        s = max_side / max(h, w)
        a = cv2.resize(
            a, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
    return np.ascontiguousarray(a)


def smooth_baseline(img: np.ndarray, hole: np.ndarray, iters: int) -> np.ndarray:
    """The ``prefill="smooth"`` estimate alone (:func:`ganedit_inpaint.compose.smooth_fill`),
    as ``(H, W, 3)`` uint8: what the generator's correction starts from."""
    x = _unit(img)
    m = torch.from_numpy(hole).float()[None, None]
    y = smooth_fill(x, m, iters)[0].permute(1, 2, 0).numpy()
    return (y * 255 + 0.5).astype(np.uint8)


def _unit(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).float().div(255).permute(2, 0, 1)[None]


def hole_psnr(out: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB, peak 1) over the hole pixels: ``(H, W, 3)`` uint8 images, ``(H, W)`` bool."""
    d = (out.astype(np.float64) - ref.astype(np.float64)) / 255.0
    mse = float(np.mean(d[hole] ** 2)) if hole.any() else 0.0
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def hole_ssim(out: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    """Mean of the SSIM map over the hole pixels (module docstring): uint8 images, bool hole."""
    from kornia.metrics import ssim

    smap = ssim(_unit(out), _unit(ref), 11, 1.0, padding="same")[0].mean(0).numpy()
    return float(smap[hole].mean()) if hole.any() else 1.0


def _images(data: Mapping[str, Sequence[Path]], n: int | None) -> list[tuple[Path, Path]]:
    """``(root, file)`` pairs of the images under role ``data``, sorted, at most ``n``."""
    exts = {e.lower() for e in IMAGE_EXTENSIONS}
    found: list[tuple[Path, Path]] = []
    for root in gdata.role(data, "data"):
        root = Path(root)
        if root.is_file():
            found.append((root.parent, root))
            continue
        files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in exts]
        found += [(root, p) for p in files if p.is_file() and not p.name.startswith(".")]
    if not found:
        raise gdata.DatasetError(f"no images under {', '.join(map(str, data['data']))}")
    return found[:n]


def _mask_for(
    kind: str, root: Path, path: Path, index: int, shape: tuple[int, int], seed: int
) -> np.ndarray:
    """The ``(H, W)`` bool mask of one image for one entry of ``eval_masks``."""
    h, w = shape
    folder = Path(kind)
    if kind not in gdata.MASK_KINDS:
        if not folder.is_dir():
            raise gdata.DatasetError(
                f"eval_masks: {kind!r} is neither a mask kind ({', '.join(gdata.MASK_KINDS)}) "
                "nor a folder"
            )
        rel = path.relative_to(root).with_suffix("")
        hits = [p for p in sorted(folder.glob(f"{rel}.*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
        if not hits:
            raise gdata.DatasetError(f"{path}: no mask at {folder / rel}.*")
        m = read_mask(hits[0]).astype(np.uint8)
        return np.asarray(cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST) > 0)
    drawn = gdata.MaskGenerator(kind).from_seeds([seed * 100003 + index], h, w)
    return np.asarray(drawn[0, 0].numpy() > 0.5)


def _row(
    editor: Any, img: np.ndarray, hole: np.ndarray
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One image's row of numbers, and every method's filled image."""
    outs = {"model": np.asarray(editor(img, mask=hole))}
    for method in ("telea", "ns"):
        outs[method] = cv2_fill(img, hole, method)
    outs["smooth"] = smooth_baseline(img, hole, int(editor.config.smooth_iters))
    row: dict[str, Any] = {"hole_pct": float(100 * hole.mean())}
    for k, out in outs.items():
        row[f"{k}_psnr"] = hole_psnr(out, img, hole)
    for k, out in outs.items():
        row[f"{k}_ssim"] = hole_ssim(out, img, hole)
    for k, out in outs.items():
        row[f"{k}_edge_f1"] = edge_f1(out, img, hole)
    for k, out in outs.items():
        row[f"{k}_energy"] = gradient_energy_ratio(out, img, hole)
    row["outside_changed"] = int((outs["model"] != img)[~hole].sum())
    return row, outs


def _panel(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    size = (max(1, round(w * height / h)), height)
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def write_sheet(
    path: Path, rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
) -> Path:
    """Write a before | mask | model | TELEA contact sheet, one row per image.

    Args:
        path: the PNG to write (folders are created).
        rows: ``(original, hole, model, telea)`` per image: ``(H, W, 3)`` uint8 RGB images
            and an ``(H, W)`` bool hole (drawn white on black).

    Returns:
        ``path``.
    """
    lines = []
    for original, hole, model, telea in rows:
        mask = np.repeat(hole[:, :, None].astype(np.uint8) * 255, 3, 2)
        panels = [_panel(a, SHEET_HEIGHT) for a in (original, mask, model, telea)]
        gap = np.full((SHEET_HEIGHT, 4, 3), 255, np.uint8)
        lines.append(np.concatenate([x for p in panels for x in (p, gap)][:-1], 1))
    width = max(r.shape[1] for r in lines)
    lines = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255)
             for r in lines]  # fmt: skip
    write_image(path, np.concatenate(lines, 0))
    return path


def evaluate_inpaint(
    editor: Any, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
) -> ganedit.EvalResult:
    """Rows per (mask kind, image) and a summary per kind (module docstring).

    Args:
        editor: a loaded ``inpaint`` editor (``editor.config`` gives ``eval_masks`` and
            ``eval_size``).
        data: ``{"data": [folders or files]}``.
        options: ``{"n": max images or None, "seed": int, "sheets": folder or None}``
            (``sheets``, ``ganedit eval --sheets``, wins over the Config's ``eval_sheets``).

    Returns:
        ``{"rows": [...], "summary": {...}}``.
    """
    cfg = editor.config
    kinds = [k.strip() for k in str(cfg.eval_masks).split(",") if k.strip()]
    seed = int(options.get("seed") or 0)
    images = _images(data, options.get("n"))
    sheets = str(options.get("sheets") or getattr(cfg, "eval_sheets", "") or "")
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        shown = []
        for i, (root, path) in enumerate(images):
            img = prepare_image(read_image(path), int(cfg.eval_size))
            hole = _mask_for(kind, root, path, i, img.shape[:2], seed)
            row, outs = _row(editor, img, hole)
            rows.append({"masks": Path(kind).name, "image": path.name, **row})
            if sheets:
                shown.append((img, hole, outs["model"], outs["telea"]))
        if shown:
            write_sheet(Path(sheets) / f"{Path(kind).name}.png", shown)
    return {"rows": rows, "summary": summarize(rows)}


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Per mask kind: the mean of every numeric column and the gain over the better baseline."""
    out: dict[str, float] = {}
    for kind in dict.fromkeys(r["masks"] for r in rows):
        part = [r for r in rows if r["masks"] == kind]
        for col in ("hole_pct", *(f"{m}_{q}" for q in QUANTITIES for m in METHODS)):
            vals = [float(r[col]) for r in part if col in r]
            finite = [v for v in vals if np.isfinite(v)]
            if finite:  # left out when no image of the kind has a value (no interior)
                out[f"{kind}_{col}"] = float(np.mean(finite))
        best = max(out[f"{kind}_telea_psnr"], out[f"{kind}_ns_psnr"])
        out[f"{kind}_gain_db"] = out[f"{kind}_model_psnr"] - best
    out["outside_changed"] = float(sum(r["outside_changed"] for r in rows))
    return out
