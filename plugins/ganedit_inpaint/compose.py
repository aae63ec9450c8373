"""Mask handling around the generator: dilation, the (feathered) composite, and filling a large
image crop by crop around each hole.

Distances are Chebyshev (chessboard) distances in pixels: ``dilate(m, r)`` adds every pixel
within ``r`` of the hole in both x and y (a ``(2r + 1)``-square max filter), and the feather
weight of a pixel at distance ``d`` from the hole is ``(F + 1 - d) / (F + 1)`` for
``d <= F``, 0 beyond: so with ``feather=F`` every pixel farther than ``F`` from the hole keeps
its input value bit for bit, and with ``F = 0`` every pixel outside the hole does.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "classical_fill",
    "composite",
    "cv2_fill",
    "dilate",
    "feather_weight",
    "fill_by_crops",
    "hole_boxes",
    "smooth_fill",
]

CLASSICAL_METHODS = ("ns", "telea")

Fill = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Grow a mask by ``radius`` pixels (square max filter).

    Args:
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.
        radius: pixels, >= 0 (0 returns ``mask`` unchanged).

    Returns:
        ``(N, 1, H, W)`` float in {0, 1}.
    """
    r = max(0, int(radius))
    if r == 0:
        return mask
    return F.max_pool2d(mask, 2 * r + 1, stride=1, padding=r)


def feather_weight(mask: torch.Tensor, feather: int) -> torch.Tensor:
    """The blend weight of the fill: 1 in the hole, falling linearly to 0 at ``feather + 1``
    pixels (Chebyshev) from it (module docstring).

    Args:
        mask: ``(N, 1, H, W)`` float in {0, 1}.
        feather: ring width in pixels, >= 0.

    Returns:
        ``(N, 1, H, W)`` float32 in [0, 1].
    """
    f = max(0, int(feather))
    m = mask.float()
    if f == 0:
        return m
    acc = m.clone()
    for r in range(1, f + 1):
        acc += F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
    return acc / (f + 1)


def composite(
    x: torch.Tensor, fill: torch.Tensor, mask: torch.Tensor, feather: int = 0
) -> torch.Tensor:
    """The input where the blend weight is 0, the fill where it is 1, a blend between.

    Args:
        x: ``(N, C, H, W)`` float32 in [0, 1], the input.
        fill: ``(N, C, H, W)`` float in [0, 1], the generator's raw output.
        mask: ``(N, 1, H, W)`` float in {0, 1} (already dilated).
        feather: ring width in pixels.

    Returns:
        ``(N, C, H, W)`` float32 in [0, 1]; equal to ``x`` exactly where the weight is 0. An
        image whose known pixels are all gray gets a gray fill (:func:`gray_where_gray`).
    """
    w = feather_weight(mask, feather)
    fill = gray_where_gray(x, fill.float().clamp(0, 1), mask)
    blend = x + w * (fill - x)
    return torch.where(w > 0, blend, x)


def gray_where_gray(
    x: torch.Tensor, fill: torch.Tensor, mask: torch.Tensor, tol: float = 1 / 255
) -> torch.Tensor:
    """The fill with its channels averaged in every image whose known pixels are gray (all
    channels within ``tol`` of each other): the network paints in colour, and a colour fleck
    in a gray photo is a defect any eye sees.

    Args:
        x: ``(N, 3, H, W)`` float in [0, 1], the input (other channel counts pass through).
        fill: ``(N, 3, H, W)`` float in [0, 1].
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.
        tol: largest channel spread of a gray pixel (1/255: one 8-bit level).

    Returns:
        ``(N, 3, H, W)``, ``fill``'s dtype: ``fill`` where the image has colour.
    """
    if x.shape[1] != 3:
        return fill
    spread = (x.amax(1, keepdim=True) - x.amin(1, keepdim=True)) * (mask < 0.5)
    gray = spread.flatten(1).amax(1) <= tol
    if not bool(gray.any()):
        return fill
    return torch.where(gray.view(-1, 1, 1, 1), fill.mean(1, keepdim=True).expand_as(fill), fill)


def hole_boxes(mask: torch.Tensor, margin: int) -> list[tuple[int, int, int, int]]:
    """Boxes ``(y0, y1, x0, x1)`` around the holes of one mask, each grown by ``margin`` and
    clipped to the image; boxes that touch or overlap are merged, so every hole pixel lies in
    exactly one box together with at least ``margin`` pixels of context (where the image has
    them).

    Args:
        mask: ``(H, W)`` float or bool, 1/True = hole.
        margin: pixels of context on each side.
    """
    h, w = mask.shape
    hole = (mask.detach().cpu().numpy() > 0.5).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(hole, connectivity=8)
    boxes = []
    for x0, y0, bw, bh, _area in stats[1:count]:
        y0, x0 = int(y0), int(x0)
        boxes.append(
            (max(0, y0 - margin), min(h, y0 + int(bh) + margin),
             max(0, x0 - margin), min(w, x0 + int(bw) + margin))
        )  # fmt: skip
    return _merge(boxes)


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Merge overlapping boxes until none overlap."""
    merged = True
    while merged:
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for b in boxes:
            for i, o in enumerate(out):
                if b[0] < o[1] and o[0] < b[1] and b[2] < o[3] and o[2] < b[3]:
                    out[i] = (min(b[0], o[0]), max(b[1], o[1]), min(b[2], o[2]), max(b[3], o[3]))
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes


def _fit(lo: int, hi: int, size: int, multiple: int) -> tuple[int, int]:
    """Grow ``[lo, hi)`` to a length that is a multiple of ``multiple`` inside ``[0, size)``
    where possible (``size`` itself is a multiple: the core pads the image)."""
    want = -(-(hi - lo) // multiple) * multiple
    lo = max(0, min(lo - (want - (hi - lo)) // 2, size - want))
    return lo, min(size, lo + want)


def fill_by_crops(
    fill: Fill,
    x: torch.Tensor,
    mask: torch.Tensor,
    *,
    margin: int,
    multiple: int,
    max_side: int,
) -> torch.Tensor:
    """The raw fill of a large image, computed crop by crop around each hole.

    Each hole's box plus ``margin`` (:func:`hole_boxes`) is cut out, grown to a multiple of
    ``multiple``, filled by ``fill`` (downscaled first when it is longer than ``max_side``,
    the fill then upscaled bilinearly), and pasted back. Pixels in no box keep the input.

    Args:
        fill: ``(x, m) -> raw`` on ``(1, 3, h, w)`` / ``(1, 1, h, w)`` float tensors.
        x: ``(N, 3, H, W)`` float32 in [0, 1], H and W multiples of ``multiple``.
        mask: ``(N, 1, H, W)`` float in {0, 1}.
        margin: context pixels around each hole.
        multiple: the generator's size multiple.
        max_side: the longest side one call may have.

    Returns:
        ``(N, 3, H, W)`` float32 in [0, 1].
    """
    out = x.clone()
    _, _, h, w = x.shape
    for n in range(x.shape[0]):
        for y0, y1, x0, x1 in hole_boxes(mask[n, 0], margin):
            y0, y1 = _fit(y0, y1, h, multiple)
            x0, x1 = _fit(x0, x1, w, multiple)
            xc, mc = x[n : n + 1, :, y0:y1, x0:x1], mask[n : n + 1, :, y0:y1, x0:x1]
            out[n : n + 1, :, y0:y1, x0:x1] = _fill_scaled(fill, xc, mc, multiple, max_side)
    return out


def _fill_scaled(
    fill: Fill, x: torch.Tensor, m: torch.Tensor, multiple: int, max_side: int
) -> torch.Tensor:
    """``fill(x, m)``, at a reduced size when the crop is longer than ``max_side``."""
    h, w = x.shape[-2:]
    if max(h, w) <= max_side:
        return fill(x, m)
    s = max_side / max(h, w)
    size = (max(multiple, int(h * s) // multiple * multiple),
            max(multiple, int(w * s) // multiple * multiple))  # fmt: skip
    xs = F.interpolate(x, size=size, mode="area")
    ms = (F.adaptive_max_pool2d(m, size) > 0.5).float()
    y = fill(xs, ms)
    return F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


def _mean3(e: torch.Tensor) -> torch.Tensor:
    """The 3x3 mean of every pixel (edges replicated): ``(N, C, H, W)`` -> same shape.

    Written as shifted sums of the padded map: 5x faster than a depthwise ``conv2d`` with a
    3x3 box kernel on the CPU (1.7 ms vs 8.4 ms for 3 x 512 x 512, one thread), equal to it
    within float rounding; :func:`smooth_fill` calls it ``sweeps`` times per level."""
    p = F.pad(e, (1, 1, 1, 1), mode="replicate")
    rows = p[..., :, :-2] + p[..., :, 1:-1] + p[..., :, 2:]
    return (rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]) / 9.0


def smooth_fill(x: torch.Tensor, mask: torch.Tensor, sweeps: int = 16) -> torch.Tensor:
    """A smooth membrane fill of the hole: pull-push (Gortler et al. 1996) with Laplace
    smoothing at every level (a multigrid solve of the harmonic fill).

    Pull: average the known pixels and their weights down a 2x pyramid. Push: from the
    coarsest level up, upsample the coarser estimate, then run ``sweeps`` Jacobi sweeps of
    ``est = v + (1 - w) * mean3x3(est)`` (``v`` the level's known-pixel average, ``w`` its
    known weight), so known cells keep their mean and the rest relax towards the harmonic
    solution. At full resolution ``w`` is 0 or 1: known pixels come back exactly.

    Args:
        x: ``(N, C, H, W)`` float in [0, 1].
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.
        sweeps: Jacobi sweeps per pyramid level (0 = plain pull-push).

    Returns:
        ``(N, C, H, W)`` float32 in [0, 1], equal to ``x`` outside the hole.
    """
    known = 1.0 - mask.float()
    vals, weights = [x.float() * known], [known]
    while min(vals[-1].shape[-2:]) > 1:
        vals.append(F.avg_pool2d(vals[-1], 2, ceil_mode=True))
        weights.append(F.avg_pool2d(weights[-1], 2, ceil_mode=True))
    est = torch.where(weights[-1] > 0, vals[-1] / weights[-1].clamp_min(1e-8), 0.5)
    for v, w in zip(reversed(vals[:-1]), reversed(weights[:-1]), strict=True):
        est = F.interpolate(est, size=v.shape[-2:], mode="bilinear", align_corners=False)
        est = v + (1.0 - w) * est
        for _ in range(max(0, int(sweeps))):
            est = v + (1.0 - w) * _mean3(est)
    return torch.where(mask > 0.5, est.clamp(0, 1), x.float())


def cv2_fill(img: np.ndarray, hole: np.ndarray, method: str) -> np.ndarray:
    """``cv2.inpaint`` with radius 3 (Navier-Stokes, Bertalmio et al. 2001, or Telea 2004).

    Args:
        img: ``(H, W, 3)`` or ``(H, W)`` uint8.
        hole: ``(H, W)`` bool or {0, 1}, True = fill.
        method: ``"ns"`` or ``"telea"``.

    Returns:
        ``img``'s shape, uint8; ``img`` outside the hole.
    """
    if method not in CLASSICAL_METHODS:
        raise ValueError(f"method must be one of {CLASSICAL_METHODS}, not {method!r}")
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    return cv2.inpaint(
        np.ascontiguousarray(img), (np.asarray(hole) > 0).astype(np.uint8) * 255, 3, flag
    )


def classical_fill(x: torch.Tensor, mask: torch.Tensor, method: str) -> torch.Tensor:
    """:func:`cv2_fill` of every image of a batch, at 8 bits: the edge-continuing classical
    fill that ``hint`` shows the generator.

    Args:
        x: ``(N, 3, H, W)`` float in [0, 1].
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.
        method: ``"ns"`` or ``"telea"``.

    Returns:
        ``(N, 3, H, W)`` float32 in [0, 1] on ``x``'s device: ``x`` quantised to 8 bits
        (``round(255 x) / 255``) outside the hole, the classical fill inside it.
    """
    imgs = (x.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
    holes = mask.detach()[:, 0] > 0.5
    out = [
        torch.from_numpy(cv2_fill(i.cpu().numpy(), h.cpu().numpy(), method))
        for i, h in zip(imgs, holes, strict=True)
    ]
    return torch.stack(out).permute(0, 3, 1, 2).float().div(255).to(x.device)
