"""Tiled inference that hands over finished blocks, so the float working set is constant.

:func:`ganedit.infer.tiling.tiled_strips` blends a whole row of tiles before it hands over
full-width strips, so it holds one tile row's height of the output's width in float. This
module blends the same tiles with the same windows (the result is identical), but tile by
tile: after each tile, the part of the output that no later tile touches is handed over as a
block. What stays in float is

* a *window* over the current tile row: the tile's own columns plus the columns it shares
  with the next tile (about one tile), and
* the *carry* between tile rows: the rows the next tile row shares, across the width (the
  overlap times the scale, rows: 128 rows of a 16000 px wide x4 output are 25 MB).

The caller quantises each block into the integer output
(:meth:`~ganedit.infer.editor.Editor.edit_pixels`). Resizing the output (``outscale``) works
on full-width strips, and uses :func:`~ganedit.infer.tiling.tiled_strips` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from ganedit.infer.tiling import tile_layout

__all__ = ["tiled_blocks"]

Block = tuple[int, int, torch.Tensor]


def tiled_blocks(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    scale: int,
    tile: int | tuple[int, int],
    overlap: int,
    multiple: int = 1,
    tiles_per_batch: int = 1,
) -> Iterator[Block]:
    """Run ``fn`` over the tiles of ``x`` and yield the blended output block by block.

    Args:
        fn, x, scale, tile, overlap, multiple, tiles_per_batch: as in
            :func:`ganedit.infer.tiling.tiled_forward` (``x``: ``(N, C, H, W)``, any dtype
            ``fn`` accepts; padded to ``multiple`` when it must be, which needs float).

    Yields:
        ``(row, col, block)``: ``block`` is ``(N, C_out, h, w)`` float32 on ``x``'s device,
        the finished output pixels ``[row, row + h) x [col, col + w)``. The blocks cover the
        ``(H * scale, W * scale)`` output exactly once, tile row by tile row, left to right.
    """
    lay = tile_layout(x, scale=scale, tile=tile, overlap=overlap, multiple=multiple)
    xp, (h0, w0), (th, tw) = lay.xp, lay.size, lay.tile
    if lay.single:
        yield 0, 0, fn(xp).float()[..., : h0 * scale, : w0 * scale]
        return
    wy, wx = lay.wy, lay.wx
    grid = _Grid(lay.ys, lay.xs, th, tw, scale, (h0 * scale, w0 * scale), xp.shape[-1] * scale)
    carry: torch.Tensor | None = None  # rows [ys[i] * scale, ...) shared with row i, full width
    for i in range(len(lay.ys)):
        row = _TileRow(grid, i, carry)
        for j, piece in _weighted_tiles(fn, xp, grid, i, wy[i], wx, tiles_per_batch):
            yield from row.add(j, piece)
        carry = row.next_carry


class _Grid:
    """The tile grid in output pixels: starts, sizes, the cropped output size, the width."""

    def __init__(
        self,
        ys: list[int],
        xs: list[int],
        th: int,
        tw: int,
        scale: int,
        out: tuple[int, int],
        width: int,
    ) -> None:
        self.ys, self.xs, self.th, self.tw, self.scale = ys, xs, th, tw, scale
        self.out_h, self.out_w = out
        self.width = width

    def finished_row(self, i: int) -> int:
        """Output rows below this are final once tile row ``i`` is in."""
        s = self.scale
        return self.ys[i + 1] * s if i + 1 < len(self.ys) else (self.ys[i] + self.th) * s

    def finished_col(self, j: int) -> int:
        """Output columns left of this are final (in a tile row) once tile ``j`` is in."""
        s = self.scale
        return self.xs[j + 1] * s if j + 1 < len(self.xs) else (self.xs[j] + self.tw) * s


class _TileRow:
    """One tile row's window of open columns, fed tile by tile (module docstring)."""

    def __init__(self, grid: _Grid, i: int, carry: torch.Tensor | None) -> None:
        self.g, self.i, self.carry = grid, i, carry
        self.r0 = grid.ys[i] * grid.scale
        self.rows = grid.th * grid.scale
        self.fin_r = grid.finished_row(i)
        self.window: torch.Tensor | None = None  # rows [r0, r0 + rows), cols [c0, c0 + width)
        self.c0 = 0
        self.next_carry: torch.Tensor | None = None

    def _extend(self, piece: torch.Tensor, c1: int) -> torch.Tensor:
        """The window grown to column ``c1`` (new columns: the carry's values, else 0)."""
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
        return grown

    def add(self, j: int, piece: torch.Tensor) -> Iterator[Block]:
        """Add tile ``j``'s weighted output; yield the block it finished."""
        g = self.g
        x0 = g.xs[j] * g.scale
        self.window = self._extend(piece, x0 + piece.shape[-1])
        self.window[..., x0 - self.c0 : x0 - self.c0 + piece.shape[-1]] += piece
        fin_c = g.finished_col(j)
        done = self.window[..., : fin_c - self.c0]
        self._keep_shared_rows(done, fin_c)
        rows, cols = min(self.fin_r, g.out_h) - self.r0, min(fin_c, g.out_w) - self.c0
        if rows > 0 and cols > 0:
            yield self.r0, self.c0, done[:, :, :rows, :cols]
        self.window, self.c0 = self.window[..., fin_c - self.c0 :], fin_c

    def _keep_shared_rows(self, done: torch.Tensor, fin_c: int) -> None:
        """Copy the finished columns' rows that the next tile row shares into its carry."""
        shared = self.r0 + self.rows - self.fin_r
        if shared <= 0:
            return
        if self.next_carry is None:
            n, c = done.shape[:2]
            self.next_carry = done.new_zeros((n, c, shared, self.g.width))
        self.next_carry[..., self.c0 : fin_c] = done[:, :, self.fin_r - self.r0 :]


def _weighted_tiles(
    fn: Callable[[torch.Tensor], torch.Tensor],
    xp: torch.Tensor,
    grid: _Grid,
    i: int,
    wy: torch.Tensor,
    wx: list[torch.Tensor],
    tiles_per_batch: int,
) -> Iterator[tuple[int, torch.Tensor]]:
    """``(j, weighted output of tile (i, j))`` for the tiles of row ``i``, left to right,
    ``tiles_per_batch`` per ``fn`` call."""
    n, th, tw, s = xp.shape[0], grid.th, grid.tw, grid.scale
    y = grid.ys[i]
    step = max(1, int(tiles_per_batch))
    for k in range(0, len(grid.xs), step):
        cols = list(range(k, min(k + step, len(grid.xs))))
        batch = torch.cat([xp[:, :, y : y + th, grid.xs[j] : grid.xs[j] + tw] for j in cols], 0)
        res = fn(batch)
        if res.shape[-2:] != (th * s, tw * s):
            raise ValueError(
                f"model returned {tuple(res.shape[-2:])} for a {th}x{tw} tile; "
                f"expected {th * s}x{tw * s} (scale {s})"
            )
        for c, j in enumerate(cols):
            yield j, res[c * n : (c + 1) * n].float() * (wy[:, None] * wx[j][None, :])
        del res, batch
