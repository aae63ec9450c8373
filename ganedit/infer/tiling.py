"""Tiled inference with blended seams: one entry point, one accumulation loop.

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

:func:`tiled` is the entry point. It takes a family's input dict (``{"image": (N, C, H, W)}``,
plus ``"mask": (N, 1, H, W)`` for a masked family), cuts every entry into the same tiles, calls
the model on a dict of tiles, and hands over the blended output as soon as no later tile
touches it. Because the tiles form a grid and the window is a product of a row and a column
window, the summed weight is the outer product of two 1-D sums, so no full-size weight map is
held, and one loop serves two ways of handing over:

* blocks (the default): after each tile, the columns it finished. What stays in float is a
  window over the current tile row (the tile's own columns plus those it shares with the next
  tile, about one tile) and the rows the next tile row shares, across the width (the overlap
  times the scale: 128 rows of a 16000 px wide x4 output are 25 MB);
* ``strips=True``: after each tile row, its finished full-width rows (one tile row's height of
  the output width is held), for callers that resize rows (the editor's ``outscale``) or add
  an alpha channel row by row.

The editor quantises each piece into the uint8/uint16 output
(:meth:`~ganedit.infer.editor.Editor.edit_pixels`, :mod:`ganedit.infer.assemble`), blocks
whenever the output is the model's size and has no alpha (x4 on the CPU: 0.42, 0.41 and 0.51
GiB of working set at 1000x750, 2000x1500 and 4000x3000, beside uint8 outputs of 0.03 to 0.54
GiB; ``benchmarks/bench_sr_memory.py``). :func:`tiled_forward` puts the pieces together into
one tensor for callers that want the whole result.

Tile and overlap sizes must let neighbours advance by whole size multiples while sharing the
overlap: :func:`legal_tile` rounds a request up to the nearest such pair (the user-facing
policy, with its notes, is :mod:`ganedit.infer.plan`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "Block",
    "TileLayout",
    "legal_tile",
    "pad_to_multiple",
    "tile_layout",
    "tile_starts",
    "tiled",
    "tiled_forward",
]

#: ``(row, col, pixels)``: finished output pixels ``[row, row + h) x [col, col + w)``.
Block = tuple[int, int, torch.Tensor]
#: The model on a dict of tiles: ``{"image": (B, C, h, w), ...}`` -> ``(B, C_out, h*s, w*s)``.
TileModel = Callable[[dict[str, torch.Tensor]], torch.Tensor]


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
    hp: int, wp: int, tile: int | tuple[int, int] | None, overlap: int, m: int
) -> tuple[int, int, list[int], list[int]]:
    """``(th, tw, row starts, column starts)`` for a padded ``hp`` x ``wp`` input (``tile``
    ``None``: one tile of the whole input)."""
    th, tw = (hp, wp) if tile is None else (tile, tile) if isinstance(tile, int) else tile
    th, ov_h = legal_tile(th, overlap, m)
    tw, ov_w = legal_tile(tw, overlap, m)
    th, tw = min(th, hp), min(tw, wp)
    return th, tw, tile_starts(hp, th, ov_h, m), tile_starts(wp, tw, ov_w, m)


@dataclass(frozen=True)
class TileLayout:
    """Where the tiles of one input go, and how they are weighted.

    Attributes:
        size: the unpadded input ``(H, W)``.
        padded: the input size padded to the size multiple, ``(Hp, Wp)``.
        scale: output size / input size.
        tile: the legal ``(th, tw)`` in input pixels.
        ys, xs: the tile starts (input pixels) down and across.
        wy, wx: per tile row / column, its 1-D float32 window in output pixels, already divided
            by the windows' sum there (the 2-D weight of tile ``(i, j)`` is ``wy[i] (x) wx[j]``).
    """

    size: tuple[int, int]
    padded: tuple[int, int]
    scale: int
    tile: tuple[int, int]
    ys: list[int]
    xs: list[int]
    wy: list[torch.Tensor]
    wx: list[torch.Tensor]

    @property
    def single(self) -> bool:
        """One tile covers the whole input."""
        return len(self.ys) == 1 and len(self.xs) == 1

    def finished_row(self, i: int) -> int:
        """Output rows above this are final once tile row ``i`` is in."""
        nxt = self.ys[i + 1] if i + 1 < len(self.ys) else self.ys[i] + self.tile[0]
        return nxt * self.scale

    def finished_col(self, j: int) -> int:
        """Output columns left of this are final (within a tile row) once tile ``j`` is in."""
        nxt = self.xs[j + 1] if j + 1 < len(self.xs) else self.xs[j] + self.tile[1]
        return nxt * self.scale


def tile_layout(
    size: tuple[int, int] | torch.Tensor,
    *,
    scale: int,
    tile: int | tuple[int, int] | None,
    overlap: int,
    multiple: int = 1,
    device: torch.device | None = None,
) -> TileLayout:
    """The :class:`TileLayout` of an input of ``size`` (``(H, W)``, or an ``(N, C, H, W)``
    tensor whose size and device are used; other arguments as in :func:`tiled`)."""
    if isinstance(size, torch.Tensor):
        if size.ndim != 4:
            raise ValueError(
                f"tiling expects an (N, C, H, W) tensor, got shape {tuple(size.shape)}"
            )
        device = device or size.device
        size = (int(size.shape[-2]), int(size.shape[-1]))
    device = device or torch.device("cpu")
    m = max(1, int(multiple))
    h, w = int(size[0]), int(size[1])
    hp, wp = -(-h // m) * m, -(-w // m) * m
    th, tw, ys, xs = _tile_grid(hp, wp, tile, overlap, m)
    wy, sy = _axis_window(hp, ys, th, scale, device)
    wx, sx = _axis_window(wp, xs, tw, scale, device)
    wy = [w / sy[s * scale : s * scale + th * scale] for w, s in zip(wy, ys, strict=True)]
    wx = [w / sx[s * scale : s * scale + tw * scale] for w, s in zip(wx, xs, strict=True)]
    return TileLayout((h, w), (hp, wp), scale, (th, tw), ys, xs, wy, wx)


def tiled(
    fn: TileModel,
    inputs: Mapping[str, torch.Tensor],
    *,
    scale: int,
    tile: int | tuple[int, int] | None,
    overlap: int,
    multiple: int = 1,
    tiles_per_batch: int = 1,
    strips: bool = False,
) -> Iterator[Block]:
    """Run ``fn`` over overlapping tiles of ``inputs`` and yield the blended output piece by
    piece (the module docstring says how much stays in float).

    Args:
        fn: the model on a dict of tiles with the keys of ``inputs``: each ``(B, C_k, h, w)``,
            h and w multiples of ``multiple``, ``B`` = ``N`` times up to ``tiles_per_batch``
            -> ``(B, C_out, h * scale, w * scale)`` (any float dtype).
        inputs: ``{"image": (N, C, H, W)}``, plus e.g. ``"mask": (N, 1, H, W)``: every entry of
            the same N, H and W, float (e.g. in [0, 1]; the mask 1.0 = fill) or, when H and W
            are already multiples of ``multiple``, any dtype ``fn`` accepts (integer images
            are cut as they are). Padded here to ``multiple`` (reflect, see
            :func:`pad_to_multiple`) and the result cropped back.
        scale: output size / input size (1, 2, 4, ...).
        tile: tile size in input pixels (an int for square tiles or ``(th, tw)``; ``None``:
            the whole input in one call). Rounded *up* with ``overlap`` by :func:`legal_tile`
            (the caller, :mod:`ganedit.infer.plan`, says so to the user); a tile larger than
            the image shrinks to it.
        overlap: pixels (input) that neighbouring tiles share at least. The seam is exact
            when the model's receptive radius is at most ``overlap // 4``.
        multiple: tile sizes and offsets are multiples of this (the model's size multiple).
        tiles_per_batch: tiles stacked into one ``fn`` call (they all have one size).
        strips: hand over full-width strips of rows after each tile row instead of blocks
            after each tile (same pixels).

    Yields:
        ``(row, col, block)``: ``block`` is ``(N, C_out, h, w)`` float32 on the inputs'
        device, the finished output pixels ``[row, row + h) x [col, col + w)`` (``col`` 0 and
        ``w`` the whole width for strips). The pieces cover the ``(H * scale, W * scale)``
        output exactly once, tile row by tile row, left to right. A piece may be a view of
        the working buffers: copy it before advancing if it must be kept.

    Raises:
        ValueError: inputs without ``"image"`` or of other sizes; ``fn`` returning another
            size than ``scale`` asks.
    """
    image = _check_inputs(inputs)
    lay = tile_layout(image, scale=scale, tile=tile, overlap=overlap, multiple=multiple)
    padded = {k: pad_to_multiple(v, multiple)[0] for k, v in inputs.items()}
    out_h, out_w = lay.size[0] * scale, lay.size[1] * scale
    if lay.single:
        yield 0, 0, fn(padded).float()[..., :out_h, :out_w]
        return
    row: _TileRow | None = None
    for i in range(len(lay.ys)):  # the carry: the rows row i shares with row i - 1, full width
        carry = None if row is None else row.next_carry
        row = _TileRow(lay, i, carry, (out_h, out_w), strips)
        del carry  # the row holds it, and drops it once its window has taken it in
        for j, piece in _weighted_tiles(fn, padded, lay, i, tiles_per_batch):
            yield from row.add(j, piece)


def tiled_forward(
    fn: Callable[[Any], torch.Tensor],
    x: torch.Tensor | Mapping[str, torch.Tensor],
    *,
    scale: int,
    tile: int | tuple[int, int] | None,
    overlap: int,
    multiple: int = 1,
    tiles_per_batch: int = 1,
    out_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """:func:`tiled`'s pieces put together into one tensor.

    Args:
        fn: the model: on a dict of tiles as in :func:`tiled` when ``x`` is a dict; when ``x``
            is one tensor, on one ``(B, C, h, w)`` tensor of its tiles.
        x: the inputs dict of :func:`tiled`, or one ``(N, C, H, W)`` float tensor (any size).
        scale, tile, overlap, multiple, tiles_per_batch: as in :func:`tiled`.
        out_dtype: dtype of the result.

    Returns:
        ``(N, C_out, H * scale, W * scale)`` tensor of ``out_dtype`` on the inputs' device
        (use :func:`tiled` to avoid holding the whole float result).
    """
    model: TileModel = (lambda d: fn(d["image"])) if isinstance(x, torch.Tensor) else fn
    inputs = {"image": x} if isinstance(x, torch.Tensor) else x
    image = _check_inputs(inputs)
    n, h, w = image.shape[0], image.shape[-2] * scale, image.shape[-1] * scale
    out: torch.Tensor | None = None
    pieces = tiled(model, inputs, scale=scale, tile=tile, overlap=overlap, multiple=multiple,
                   tiles_per_batch=tiles_per_batch)  # fmt: skip
    for row, col, block in pieces:
        if block.shape[-2:] == (h, w):  # one piece: the whole result, no copy
            return block.to(out_dtype)
        if out is None:
            out = block.new_empty((n, block.shape[1], h, w), dtype=out_dtype)
        out[..., row : row + block.shape[-2], col : col + block.shape[-1]] = block
    assert out is not None
    return out


def _check_inputs(inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``inputs["image"]``, once every entry is ``(N, C_k, H, W)`` of the image's N, H, W."""
    if "image" not in inputs:
        raise ValueError(f"tiling needs an 'image' input, got {sorted(inputs)}")
    image = inputs["image"]
    for key, t in inputs.items():
        if t.ndim != 4:
            raise ValueError(f"tiling expects (N, C, H, W) tensors, got {key} {tuple(t.shape)}")
        if t.shape[0] != image.shape[0] or t.shape[-2:] != image.shape[-2:]:
            raise ValueError(
                f"tiling: {key} {tuple(t.shape)} does not match image {tuple(image.shape)}"
            )
    return image


class _TileRow:
    """One tile row's window of open output columns, fed tile by tile (module docstring)."""

    def __init__(
        self,
        lay: TileLayout,
        i: int,
        carry: torch.Tensor | None,
        out: tuple[int, int],
        strips: bool,
    ) -> None:
        self.lay, self.i, self.carry, self.strips = lay, i, carry, strips
        self.out_h, self.out_w = out
        self.r0 = lay.ys[i] * lay.scale
        self.rows = lay.tile[0] * lay.scale
        self.fin_r = lay.finished_row(i)
        self.width = lay.padded[1] * lay.scale
        self.window: torch.Tensor | None = None  # rows [r0, r0 + rows), cols [c0, c0 + width)
        self.c0 = 0
        self.next_carry: torch.Tensor | None = None

    def _extend(self, piece: torch.Tensor, c1: int) -> torch.Tensor:
        """The window grown to column ``c1`` (new columns: the carry's values, else 0); for
        strips, to the whole width at once."""
        c1 = self.width if self.strips else c1
        old = self.window
        have = 0 if old is None else old.shape[-1]
        if self.c0 + have >= c1:
            assert old is not None
            return old
        n, c = piece.shape[:2]
        grown = piece.new_zeros((n, c, self.rows, c1 - self.c0))
        if old is not None:
            grown[..., :have] = old
        if self.carry is not None:
            a, k = self.c0 + have, self.carry.shape[2]
            grown[:, :, :k, have:] = self.carry[..., a:c1]
            if c1 == self.width:  # all taken in
                self.carry = None
        return grown

    def add(self, j: int, piece: torch.Tensor) -> Iterator[Block]:
        """Add tile ``j``'s weighted output; yield what it finished (for strips, only the
        last tile of the row finishes anything)."""
        lay = self.lay
        x0 = lay.xs[j] * lay.scale
        self.window = self._extend(piece, x0 + piece.shape[-1])
        self.window[..., x0 - self.c0 : x0 - self.c0 + piece.shape[-1]] += piece
        if self.strips and j + 1 < len(lay.xs):
            return
        fin_c = lay.finished_col(j)
        done = self.window[..., : fin_c - self.c0]
        rows, cols = min(self.fin_r, self.out_h) - self.r0, min(fin_c, self.out_w) - self.c0
        if rows > 0 and cols > 0:  # rows below fin_r are not handed over: copied after
            yield self.r0, self.c0, done[:, :, :rows, :cols]
        self._keep_shared_rows(done, fin_c)
        if j + 1 == len(lay.xs):  # the row is done: free its buffer before the next row's
            self.window = None
        else:
            self.window, self.c0 = self.window[..., fin_c - self.c0 :], fin_c

    def _keep_shared_rows(self, done: torch.Tensor, fin_c: int) -> None:
        """Copy the finished columns' rows that the next tile row shares into its carry."""
        shared = self.r0 + self.rows - self.fin_r
        if shared <= 0:
            return
        if self.next_carry is None:
            n, c = done.shape[:2]
            self.next_carry = done.new_zeros((n, c, shared, self.width))
        self.next_carry[..., self.c0 : fin_c] = done[:, :, self.fin_r - self.r0 :]


def _weighted_tiles(
    fn: TileModel,
    padded: Mapping[str, torch.Tensor],
    lay: TileLayout,
    i: int,
    tiles_per_batch: int,
) -> Iterator[tuple[int, torch.Tensor]]:
    """``(j, weighted float32 output of tile (i, j))`` for the tiles of row ``i``, left to
    right, ``tiles_per_batch`` per ``fn`` call (every input cut at the same place)."""
    (th, tw), s, y = lay.tile, lay.scale, lay.ys[i]
    n = padded["image"].shape[0]
    step = max(1, int(tiles_per_batch))
    for k in range(0, len(lay.xs), step):
        cols = range(k, min(k + step, len(lay.xs)))
        batch = {
            key: torch.cat([v[:, :, y : y + th, lay.xs[j] : lay.xs[j] + tw] for j in cols], 0)
            for key, v in padded.items()
        }
        res = fn(batch)
        if res.shape[-2:] != (th * s, tw * s):
            raise ValueError(
                f"model returned {tuple(res.shape[-2:])} for a {th}x{tw} tile; "
                f"expected {th * s}x{tw * s} (scale {s})"
            )
        for c, j in enumerate(cols):
            yield j, res[c * n : (c + 1) * n].float() * (lay.wy[i][:, None] * lay.wx[j][None, :])
        del res, batch
