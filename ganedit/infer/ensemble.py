"""Geometric self-ensemble: average a model's outputs over flipped and transposed inputs.

Lim et al. 2017 (EDSR, the "+" results) run an SR network on the 8 flips/rotations of its
input, undo each transform on the output and average: the model's errors that are not
equivariant partly cancel, typically a tenth to a few tenths of a dB PSNR for 8x the compute.
It fits any image-to-image model whose output pixels correspond to its input pixels (super-
resolution, inpainting, translation); it changes nothing for a model that is already exactly
equivariant.

Views, in order (``views`` = how many are used):

====  ===================================
1     identity (off)
2     + horizontal flip
4     + vertical flip, + both (= 180 deg rotation)
8     + the transpose of each of the four
====  ===================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from ganedit.infer.options import SELF_ENSEMBLE_VIEWS, check_views

__all__ = ["SELF_ENSEMBLE_VIEWS", "check_views", "self_ensemble"]


def _apply(x: torch.Tensor, transpose: bool, hflip: bool, vflip: bool) -> torch.Tensor:
    if transpose:
        x = x.transpose(-2, -1)
    dims = [d for d, on in ((-1, hflip), (-2, vflip)) if on]
    return x.flip(dims) if dims else x


def _undo(y: torch.Tensor, transpose: bool, hflip: bool, vflip: bool) -> torch.Tensor:
    dims = [d for d, on in ((-1, hflip), (-2, vflip)) if on]
    if dims:
        y = y.flip(dims)
    return y.transpose(-2, -1) if transpose else y


def self_ensemble(
    fn: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    inputs: Mapping[str, torch.Tensor],
    views: int,
) -> torch.Tensor:
    """The mean of ``undo(fn(view(inputs)))`` over the first ``views`` dihedral views.

    Every entry of the input dict (the image and, for a masked family, its mask) goes through
    the same view, so a mask stays on its pixels.

    Args:
        fn: maps a dict like ``inputs`` with entries ``(N, C_k, h, w)`` to ``(N, C_out, h * s,
            w * s)`` for any ``h, w`` (a transposed view has ``h`` and ``w`` swapped, so ``fn``
            must accept both).
        inputs: ``{"image": (N, C, H, W)}``, plus e.g. ``"mask": (N, 1, H, W)`` (any dtype
            ``fn`` takes; values unchanged by the views).
        views: 1, 2, 4 or 8 (1 = just ``fn(inputs)``).

    Returns:
        ``(N, C_out, H * s, W * s)``: ``fn``'s result for 1 view, else the float32 average,
        same layout as ``fn(inputs)``.
    """
    n = check_views(views)
    if n == 1:
        return fn(dict(inputs))
    acc: torch.Tensor | None = None
    for i in range(n):
        t, hf, vf = bool(i & 4), bool(i & 1), bool(i & 2)
        view = {k: _apply(v, t, hf, vf) for k, v in inputs.items()}
        y = _undo(fn(view), t, hf, vf).float()
        acc = y.clone() if acc is None else acc.add_(y)
    assert acc is not None
    return acc.div_(n)
