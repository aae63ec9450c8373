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

from collections.abc import Callable

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
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, views: int
) -> torch.Tensor:
    """The mean of ``undo(fn(view(x)))`` over the first ``views`` dihedral views of ``x``.

    Args:
        fn: maps ``(N, C, h, w)`` to ``(N, C_out, h * s, w * s)`` for any ``h, w`` (a
            transposed view has ``h`` and ``w`` swapped, so ``fn`` must accept both).
        x: ``(N, C, H, W)`` input (any dtype ``fn`` takes; values unchanged by the views).
        views: 1, 2, 4 or 8 (1 = just ``fn(x)``).

    Returns:
        ``(N, C_out, H * s, W * s)`` float32: the average, same layout as ``fn(x)``.
    """
    n = check_views(views)
    if n == 1:
        return fn(x)
    acc: torch.Tensor | None = None
    for i in range(n):
        t, hf, vf = bool(i & 4), bool(i & 1), bool(i & 2)
        y = _undo(fn(_apply(x, t, hf, vf)), t, hf, vf).float()
        acc = y.clone() if acc is None else acc.add_(y)
    assert acc is not None
    return acc.div_(n)
