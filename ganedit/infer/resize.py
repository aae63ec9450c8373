"""Bicubic resizing in horizontal strips, equal to ``F.interpolate`` on the whole image.

The editor blends tiles into strips (:func:`ganedit.infer.tiling.tiled`, ``strips=True``) and
never holds a full-size float image, so the final resize (``outscale``) and the alpha channel's
resize are done strip by strip too. Resizing is separable: the width is resized with
``F.interpolate`` on each strip (its rows untouched, which is exact), and the height with the
rows of the same 1-D weight matrix PyTorch uses, computed here for just the rows a strip
needs (:func:`row_weights`): bicubic with ``align_corners=False``, either antialiased
(PIL's filter, ``a = -0.5``, support widened when shrinking) or plain (``a = -0.75``, four
taps, indices clamped to the border).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["StripResizer", "resize_width", "row_weights", "rows_needed"]


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _aa_taps(in_size: int, out_size: int, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    scale = in_size / out_size
    support = 2.0 * scale if scale >= 1 else 2.0
    inv = 1.0 / scale if scale >= 1 else 1.0
    taps = []
    for i in rows:
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        w = _cubic((np.arange(lo, hi) - center + 0.5) * inv, -0.5)
        taps.append((lo, w / w.sum()))
    return taps


def _plain_taps(in_size: int, out_size: int, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    scale = in_size / out_size
    taps = []
    for i in rows:
        src = scale * (i + 0.5) - 0.5
        x0 = math.floor(src)
        t = src - x0
        w = _cubic(np.array([t + 1, t, 1 - t, 2 - t]), -0.75)
        idx = np.clip(np.arange(x0 - 1, x0 + 3), 0, in_size - 1)
        lo = int(idx.min())
        dense = np.zeros(int(idx.max()) - lo + 1)
        np.add.at(dense, idx - lo, w)
        taps.append((lo, dense))
    return taps


def row_weights(
    in_size: int, out_size: int, q0: int, q1: int, *, antialias: bool
) -> tuple[int, torch.Tensor]:
    """The rows ``q0:q1`` of the ``(out_size, in_size)`` bicubic weight matrix, as a band.

    Returns:
        ``(c0, band)``: ``band`` is ``(q1 - q0, c1 - c0)`` float32; output row ``q`` is
        ``band[q - q0] @ input_rows[c0:c1]``.
    """
    rows = np.arange(q0, q1)
    taps = (_aa_taps if antialias else _plain_taps)(in_size, out_size, rows)
    c0 = min(lo for lo, _ in taps)
    c1 = max(lo + len(w) for lo, w in taps)
    band = np.zeros((q1 - q0, c1 - c0))
    for k, (lo, w) in enumerate(taps):
        band[k, lo - c0 : lo - c0 + len(w)] = w
    return c0, torch.from_numpy(band.astype(np.float32))


def rows_needed(in_size: int, out_size: int, q0: int, q1: int, *, antialias: bool) -> int:
    """One past the last input row that output rows ``q0:q1`` read."""
    c0, band = row_weights(in_size, out_size, q1 - 1, q1, antialias=antialias)
    return c0 + band.shape[1]


def resize_width(x: torch.Tensor, width: int, *, antialias: bool) -> torch.Tensor:
    """``x`` ``(N, C, rows, W)`` float resized to ``width`` columns (rows untouched), as
    ``F.interpolate(..., mode="bicubic", align_corners=False)`` does on the whole image."""
    if x.shape[-1] == width:
        return x
    return F.interpolate(
        x, size=(x.shape[-2], width), mode="bicubic", antialias=antialias, align_corners=False
    )


class StripResizer:
    """Resize an image given as horizontal strips, in order, to ``(out_h, out_w)``.

    Args:
        in_h: the input's height (rows arrive in strips adding up to it).
        out_h, out_w: the output size.
        antialias: as ``F.interpolate``'s (the editor's ``outscale`` uses True).
        rows_per_strip: output rows produced per step (memory: about that many rows of the
            output plus the input rows they read).
    """

    def __init__(
        self, in_h: int, out_h: int, out_w: int, *, antialias: bool, rows_per_strip: int = 256
    ) -> None:
        self.in_h, self.out_h, self.out_w = in_h, out_h, out_w
        self.antialias = antialias
        self.step = max(1, rows_per_strip)
        self._buf: torch.Tensor | None = None  # width-resized input rows [self._top, ...)
        self._top = 0
        self._next = 0  # the next output row

    def feed(self, row: int, strip: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
        """Take input rows ``row:row + strip rows`` (``(N, C, rows, W)`` float; the next rows
        in order) and yield the output strips ``(q0, (N, C, q rows, out_w))`` now complete."""
        part = resize_width(strip.float(), self.out_w, antialias=self.antialias)
        if self._buf is None:
            self._buf, self._top = part, row
        else:
            self._buf = torch.cat([self._buf, part], dim=2)
        have = self._top + self._buf.shape[2]
        while self._next < self.out_h:
            q1 = min(self.out_h, self._next + self.step)
            need = rows_needed(self.in_h, self.out_h, self._next, q1, antialias=self.antialias)
            if need > have:
                break
            c0, band = row_weights(self.in_h, self.out_h, self._next, q1, antialias=self.antialias)
            src = self._buf[:, :, c0 - self._top : c0 - self._top + band.shape[1]]
            out = torch.einsum("qk,nckw->ncqw", band.to(src.device), src)
            yield self._next, out
            self._next = q1
            self._drop_before(self._first_row(q1) if q1 < self.out_h else have)

    def _first_row(self, q: int) -> int:
        """The first input row output row ``q`` reads."""
        return row_weights(self.in_h, self.out_h, q, q + 1, antialias=self.antialias)[0]

    def _drop_before(self, row: int) -> None:
        """Forget the buffered input rows above ``row`` (no later output row reads them)."""
        assert self._buf is not None
        drop = min(row - self._top, self._buf.shape[2])
        if drop > 0:
            self._buf, self._top = self._buf[:, :, drop:], self._top + drop
