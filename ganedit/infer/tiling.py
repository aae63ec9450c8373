"""Tiled inference with blended seams.

A large image is cut into overlapping tiles laid on a grid; each tile runs through the model on
its own and the results are blended back with a separable window. Along an edge shared with a
neighbouring tile the window is

* exactly 0 over the outer quarter of the overlap (the pixels whose receptive field was cut off
  by the tile border, so they never reach the result),
* a raised-cosine ramp over the middle half,
* exactly 1 beyond the overlap,

and it is 1 up to an edge that is the image border. "The overlap" of an edge is the one the two
tiles really share (at least the planned one; the last tile of a row or column, which ends at
the image border, often shares more), so the two ramps of a pair of neighbours always sum to
one and every pixel keeps a positive weight. As the window is normalised by the summed weights,
a fully convolutional model whose receptive radius is at most a quarter of the overlap gives
the same result tiled as untiled (to float rounding); a model with a larger receptive field or
global statistics gets a smooth crossfade instead of a seam.

Because the tiles form a grid and the window is a product of a row and a column window, the
summed weight is the outer product of two 1-D sums, so no full-size weight map is ever held.
:func:`tiled_strips` blends one row of tiles at a time and hands over the output rows that no
later tile touches, so no full-size float result is held either: the editor quantises each
strip into the uint8/uint16 output (:meth:`~ganedit.infer.editor.Editor.edit_pixels`), and
peak memory is the integer output plus one row of tiles in float (added into one buffer in
place: one tile row's height of the output width, plus the rows the next row shares), which
grows with the image's width. :func:`ganedit.infer.blocks.tiled_blocks` blends the same tiles
block by block instead, so only about one tile stays in float; the editor uses it whenever the
output is the model's size and has no alpha, and these strips for the ``outscale`` resize and
for alpha (x4 on the CPU with blocks: 0.42, 0.41 and 0.51 GiB of working set at 1000x750,
2000x1500 and 4000x3000, beside uint8 outputs of 0.03 to 0.54 GiB;
``benchmarks/bench_sr_memory.py``). The editor cuts the tiles from the integer image where it
can (:meth:`~ganedit.infer.editor.Editor.edit_pixels`), so the input is not held in float.

Tile and overlap sizes must let neighbours advance by whole size multiples while sharing the
overlap: :func:`legal_tile` rounds a request up to the nearest such pair (the user-facing
policy, with its notes, is :mod:`ganedit.infer.plan`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "TileLayout",
    "legal_tile",
    "pad_to_multiple",
    "tile_layout",
    "tile_starts",
    "tiled_forward",
    "tiled_strips",
]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x`` so H and W are multiples of ``multiple``.

    Args:
        x: ``(N, C, H, W)`` float tensor (any range).
        multiple: the required divisor (1 = no padding).

    Returns:
        ``(padded, (H, W))``: the padded tensor (reflect padding where the image is large enough,
        replicate otherwise) and the original size, for cropping afterwards.
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    m = max(1, int(multiple))
    ph, pw = (-h) % m, (-w) % m
    if ph == 0 and pw == 0:
        return x, (h, w)
    # Reflect padding needs pad < dim; pad repeatedly for tiny images, replicate as last resort.
    out = x
    while ph > 0 or pw > 0:
        sh, sw = int(out.shape[-2]), int(out.shape[-1])
        step_h, step_w = min(ph, sh - 1), min(pw, sw - 1)
        if (ph > 0 and step_h <= 0) or (pw > 0 and step_w <= 0):
            out = F.pad(out, (0, pw, 0, ph), mode="replicate")
            break
        out = F.pad(out, (0, step_w, 0, step_h), mode="reflect")
        ph -= step_h
        pw -= step_w
    return out, (h, w)


def legal_tile(tile: int, overlap: int, multiple: int = 1) -> tuple[int, int]:
    """The smallest ``(tile, overlap)`` at least as large as asked that tiles exactly.

    Both are rounded up to multiples of ``multiple``; then ``tile`` is raised to at least
    ``2 * overlap`` and to at least ``overlap + multiple`` (so neighbouring tiles advance by a
    whole multiple and really share ``overlap`` pixels).

    Args:
        tile: requested tile size in input pixels (> 0).
        overlap: requested overlap in input pixels (>= 0).
        multiple: the model's size multiple (>= 1).
    """
    m = max(1, int(multiple))
    ov = -(-max(0, int(overlap)) // m) * m
    t = -(-max(1, int(tile)) // m) * m
    t = max(t, 2 * ov, ov + m)
    return t, ov


def tile_starts(size: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``[0, size)``.

    Neighbouring tiles share at least ``overlap`` pixels (the last tile, which ends exactly at
    ``size``, may share more); starts are multiples of ``multiple`` when ``size`` and ``tile``
    are.

    Raises:
        ValueError: ``tile - overlap`` holds no whole ``multiple`` (see :func:`legal_tile`).
    """
    if tile >= size:
        return [0]
    m = max(1, int(multiple))
    stride = ((tile - overlap) // m) * m
    if stride < m:
        raise ValueError(
            f"a {tile}px tile with {overlap}px overlap cannot advance by a multiple of {m}px; "
            "use legal_tile() to round it up"
        )
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def _ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """A rising edge over the first ``overlap`` of ``length`` pixels: 0 over the outer quarter
    of the overlap, a raised cosine over its middle half, 1 beyond. Two ramps of the same
    ``overlap`` laid against each other (one flipped) sum to 1 over the shared pixels."""
    margin = overlap // 4
    ramp_len = max(1, overlap - 2 * margin)
    d = torch.arange(length, device=device, dtype=torch.float32)
    return 0.5 - 0.5 * torch.cos(math.pi * ((d - margin + 0.5) / ramp_len).clamp(0, 1))


def _axis_window(
    length: int, starts: list[int], tile: int, scale: int, device: torch.device
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Per-tile 1-D windows in output pixels, and their sum over the whole axis.

    Each edge shared by two tiles uses the overlap those two tiles really have (the last tile
    often overlaps its neighbour by more than planned), so the pair's ramps always sum to 1
    and the summed weight never vanishes; an edge on the image border keeps weight 1.
    """
    t = tile * scale
    total = torch.zeros(length * scale, device=device, dtype=torch.float32)
    windows = []
    for i, s in enumerate(starts):
        w = torch.ones(t, device=device, dtype=torch.float32)
        if i > 0:
            w = w * _ramp(t, (starts[i - 1] + tile - s) * scale, device)
        if i < len(starts) - 1:
            w = w * torch.flip(_ramp(t, (s + tile - starts[i + 1]) * scale, device), dims=[0])
        windows.append(w)
        total[s * scale : s * scale + t] += w
    if float(total.min()) <= 0:  # cannot happen for legal tiles; never divide by zero
        raise AssertionError("tile blend weights vanish somewhere; this is a bug")
    return windows, total


def _tile_grid(
    hp: int, wp: int, tile: int | tuple[int, int], overlap: int, m: int
) -> tuple[int, int, list[int], list[int]]:
    """``(th, tw, row starts, column starts)`` for a padded ``hp`` x ``wp`` input."""
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    th, ov_h = legal_tile(th, overlap, m)
    tw, ov_w = legal_tile(tw, overlap, m)
    th, tw = min(th, hp), min(tw, wp)
    return th, tw, tile_starts(hp, th, ov_h, m), tile_starts(wp, tw, ov_w, m)


@dataclass(frozen=True)
class TileLayout:
    """Where the tiles of one input go, and how they are weighted.

    Attributes:
        xp: the input padded to the size multiple, ``(N, C, Hp, Wp)``.
        size: the unpadded ``(H, W)``.
        tile: the legal ``(th, tw)`` in input pixels.
        ys, xs: the tile starts (input pixels) down and across.
        wy, wx: per tile row / column, its 1-D window in output pixels, already divided by
            the windows' sum there (the 2-D weight of tile ``(i, j)`` is ``wy[i] (x) wx[j]``).
    """

    xp: torch.Tensor
    size: tuple[int, int]
    tile: tuple[int, int]
    ys: list[int]
    xs: list[int]
    wy: list[torch.Tensor]
    wx: list[torch.Tensor]

    @property
    def single(self) -> bool:
        """One tile covers the whole input."""
        return len(self.ys) == 1 and len(self.xs) == 1


def tile_layout(
    x: torch.Tensor, *, scale: int, tile: int | tuple[int, int], overlap: int, multiple: int = 1
) -> TileLayout:
    """The :class:`TileLayout` of ``x`` (``(N, C, H, W)``; arguments as in
    :func:`tiled_forward`)."""
    if x.ndim != 4:
        raise ValueError(f"tiling expects an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    m = max(1, int(multiple))
    xp, size = pad_to_multiple(x, m)
    hp, wp = xp.shape[-2:]
    th, tw, ys, xs = _tile_grid(hp, wp, tile, overlap, m)
    wy, sy = _axis_window(hp, ys, th, scale, xp.device)
    wx, sx = _axis_window(wp, xs, tw, scale, xp.device)
    wy = [w / sy[s * scale : s * scale + th * scale] for w, s in zip(wy, ys, strict=True)]
    wx = [w / sx[s * scale : s * scale + tw * scale] for w, s in zip(wx, xs, strict=True)]
    return TileLayout(xp, size, (th, tw), ys, xs, wy, wx)


def tiled_forward(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    scale: int,
    tile: int | tuple[int, int],
    overlap: int,
    multiple: int = 1,
    tiles_per_batch: int = 1,
    out_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Run ``fn`` over overlapping tiles of ``x`` and blend the results without seams.

    Args:
        fn: the model: ``(B, C, h, w)`` -> ``(B, C_out, h * scale, w * scale)``, where h and w
            are multiples of ``multiple``. ``B`` is ``N`` times up to ``tiles_per_batch``.
        x: ``(N, C, H, W)`` float tensor, any size (it is padded to ``multiple`` here and the
            result cropped back).
        scale: output size / input size (1, 2, 4, ...).
        tile: tile size in input pixels (an int for square tiles or ``(th, tw)``). Rounded
            *up* with ``overlap`` by :func:`legal_tile` (the caller,
            :mod:`ganedit.infer.plan`, says so to the user); a tile larger than the image
            shrinks to it.
        overlap: pixels (input) that neighbouring tiles share at least. The seam is exact
            when the model's receptive radius is at most ``overlap // 4``.
        multiple: tile sizes and offsets are multiples of this (the model's size multiple).
        tiles_per_batch: tiles stacked into one ``fn`` call (they all have one size).
        out_dtype: dtype of the result.

    Returns:
        ``(N, C_out, H * scale, W * scale)`` tensor of ``out_dtype`` on ``x``'s device: the
        strips of :func:`tiled_strips` put together (use that to avoid holding the whole
        float result).
    """
    strips = [
        s.to(out_dtype)
        for _, s in tiled_strips(
            fn,
            x,
            scale=scale,
            tile=tile,
            overlap=overlap,
            multiple=multiple,
            tiles_per_batch=tiles_per_batch,
        )
    ]
    return strips[0] if len(strips) == 1 else torch.cat(strips, dim=2)


def tiled_strips(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    scale: int,
    tile: int | tuple[int, int],
    overlap: int,
    multiple: int = 1,
    tiles_per_batch: int = 1,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Blend the tiles of :func:`tiled_forward` row by row, yielding finished rows.

    Only one row of tiles (plus the rows it shares with the next) is held in float at a
    time, so the caller can quantise each strip into an integer output and memory stays flat
    in the image size.

    Args:
        fn, x, scale, tile, overlap, multiple, tiles_per_batch: as in :func:`tiled_forward`.

    Yields:
        ``(row, strip)``: ``strip`` is ``(N, C_out, rows, W * scale)`` float32 on ``x``'s
        device, the finished output rows ``row`` to ``row + rows`` (in order, together
        covering ``H * scale`` rows).
    """
    lay = tile_layout(x, scale=scale, tile=tile, overlap=overlap, multiple=multiple)
    xp, (h0, w0), (th, tw), ys, xs = lay.xp, lay.size, lay.tile, lay.ys, lay.xs
    wy, wx, wp = lay.wy, lay.wx, xp.shape[-1]
    if lay.single:
        yield 0, fn(xp).float()[..., : h0 * scale, : w0 * scale]
        return
    acc: torch.Tensor | None = None  # output rows [top, top + acc rows), still accumulating
    top = 0
    for i, y_start in enumerate(ys):
        y0, y1 = y_start * scale, (y_start + th) * scale
        acc = _row_buffer(acc, top, y0, y1, wp * scale)
        acc = _add_tile_row(
            fn, xp, i, ys, xs, th, tw, scale, wy[i], wx, tiles_per_batch, acc, y0 - top
        )
        done = (ys[i + 1] * scale if i + 1 < len(ys) else y1) - top
        if done > 0:
            rows = min(done, h0 * scale - top)
            if rows > 0:
                yield top, acc[:, :, :rows, : w0 * scale]
            acc, top = acc[:, :, done:], top + done  # the shared rows, carried (a view)


def _row_buffer(
    acc: torch.Tensor | None, top: int, y0: int, y1: int, width: int
) -> torch.Tensor | None:
    """The accumulator for output rows ``[top, y1)``: ``acc`` itself when it reaches ``y1``,
    else a fresh zero buffer with ``acc``'s carried rows copied in (``None``: allocated by
    the first tile, which knows the channel count). Only one tile row's height of the full
    width is held, plus the rows the next tile row shares."""
    if acc is None or y1 - top <= acc.shape[2]:
        return acc
    grown = acc.new_zeros((acc.shape[0], acc.shape[1], y1 - top, width))
    grown[:, :, : acc.shape[2]] = acc
    return grown


def _add_tile_row(
    fn: Callable[[torch.Tensor], torch.Tensor],
    xp: torch.Tensor,
    i: int,
    ys: list[int],
    xs: list[int],
    th: int,
    tw: int,
    scale: int,
    wy: torch.Tensor,
    wx: list[torch.Tensor],
    tiles_per_batch: int,
    acc: torch.Tensor | None,
    row0: int,
) -> torch.Tensor:
    """Run row ``i`` of tiles through ``fn`` and add each, weighted, into ``acc`` at rows
    ``row0 : row0 + th * scale`` (``acc``: ``(N, C_out, rows, W * scale)`` float32, the
    padded width; ``None``: a zero buffer of one tile row is made first). Returns ``acc``."""
    n, wp = xp.shape[0], xp.shape[-1]
    step = max(1, int(tiles_per_batch))
    for k in range(0, len(xs), step):
        cols = list(range(k, min(k + step, len(xs))))
        batch = torch.cat([xp[:, :, ys[i] : ys[i] + th, xs[j] : xs[j] + tw] for j in cols], 0)
        res = fn(batch)
        if res.shape[-2:] != (th * scale, tw * scale):
            raise ValueError(
                f"model returned {tuple(res.shape[-2:])} for a {th}x{tw} tile; "
                f"expected {th * scale}x{tw * scale} (scale {scale})"
            )
        if acc is None:
            acc = res.new_zeros((n, res.shape[1], th * scale, wp * scale), dtype=torch.float32)
        band = acc[:, :, row0 : row0 + th * scale]
        for c, j in enumerate(cols):
            piece = res[c * n : (c + 1) * n].float()
            x0 = xs[j] * scale
            band[:, :, :, x0 : x0 + tw * scale].add_(piece * (wy[:, None] * wx[j][None, :]))
        del res, batch
    assert acc is not None
    return acc
