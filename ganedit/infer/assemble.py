"""A tiled edit assembled into an integer image (the tiled branch of
:meth:`Editor.edit_pixels <ganedit.infer.editor.Editor.edit_pixels>`).

An image that is tiled is never held whole in float: :func:`~ganedit.infer.tiling.tiled` blends
the tiles block by block or, when the output is resized (``outscale``) or has alpha, row by row
into full-width strips; each finished piece is given its alpha and quantised into the integer
output on the CPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from ganedit.family import Kind
from ganedit.infer import layouts
from ganedit.infer.inputs import model_input
from ganedit.infer.resize import StripResizer, resize_width, row_weights
from ganedit.infer.tiling import Block, TileModel, tiled

if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.editor import Editor

__all__ = ["alpha_rows", "edit_tiled", "final_rows", "strips_into", "tile_source"]


def edit_tiled(
    editor: Editor, batch: torch.Tensor, mask: torch.Tensor | None, tile: int, per_call: int
) -> torch.Tensor:
    """The tiled branch of ``editor.edit_pixels``: ``batch`` ``(N, H, W, C)`` integer ->
    ``(N, H_out, W_out, C')`` integer on the CPU, built strip by strip."""
    for note in editor.pending_notes():
        warnings.warn(note, RuntimeWarning, stacklevel=3)
    ints = batch.to(editor.device, non_blocking=True)
    ints = ints.to(torch.int32) if ints.dtype == torch.uint16 else ints
    nchw, peak = ints.permute(0, 3, 1, 2), layouts.peak_of(batch.dtype)
    colour, alpha = layouts.split_alpha(nchw)  # integer views, no copy
    if editor.family.kind is Kind.IMAGE_MASK and mask is None and alpha is not None:
        mask, alpha = alpha == 0, None
    src, fn = tile_source(editor, colour, mask, peak)
    h, w = src["image"].shape[-2:]
    return editor._backoff.run(
        lambda t, b: strips_into(
            editor, src, fn, colour.shape[1], (alpha, peak), batch.dtype, t, b
        ),
        tile,
        per_call,
        (h, w),
    )


def tile_source(
    editor: Editor, colour: torch.Tensor, mask: torch.Tensor | None, peak: float
) -> tuple[dict[str, torch.Tensor], TileModel]:
    """What the tiles are cut from (the inputs dict, ``colour``: ``(N, C, H, W)`` integer up
    to ``peak``; ``mask``: ``(N, 1, H, W)`` or ``(N, H, W)``, True = fill), and the model call
    on a dict of tiles.

    An IMAGE family whose input needs no padding keeps the integer image: each tile is
    converted to float (and to the model's channels) on its own, so no float copy of the
    whole input is held (x4 of 4000x3000: 0.13 GiB less). Otherwise (a masked family, or
    reflect padding, which integer tensors lack) the whole input is converted first.
    """
    m = max(1, editor.io.size_multiple)
    h, w = colour.shape[-2:]
    if editor.family.kind is Kind.IMAGE and h % m == 0 and w % m == 0:
        in_channels = editor.in_channels

        def fn(tiles: dict[str, torch.Tensor]) -> torch.Tensor:
            x = layouts.to_model(tiles["image"].to(torch.float32).div_(peak), in_channels)
            return editor._predict(model_input(editor, x, None))

        return {"image": colour}, fn
    x = layouts.to_model(colour.to(torch.float32).div_(peak), editor.in_channels)
    return model_input(editor, x, mask), editor._predict


def strips_into(
    editor: Editor,
    src: dict[str, torch.Tensor],
    fn: TileModel,
    file_channels: int,
    alpha: tuple[torch.Tensor | None, float],
    dtype: torch.dtype,
    tile: int | None,
    per_call: int,
) -> torch.Tensor:
    """Blend, resize, add alpha and quantise into a CPU integer output: block by block when
    the output is the model's size and has no alpha, else strip by strip (``src``: the
    inputs dict :func:`tile_source` cuts tiles from, ``fn`` its model call; ``alpha``: the
    integer alpha channel ``(N, 1, H, W)`` or ``None``, and its peak value)."""
    n, _, h, w = src["image"].shape
    if tile is None:  # the out-of-memory back-off never untiles; keep the contract
        tile = max(h, w)
    oh, ow = editor.output_size(h, w)
    store = torch.uint16 if dtype in (torch.uint16, torch.int32) else torch.uint8
    out: torch.Tensor | None = None
    grid = {"scale": editor.scale, "tile": tile, "overlap": editor.tiling.overlap,
            "multiple": editor.io.size_multiple, "tiles_per_batch": per_call}  # fmt: skip
    model_size = (h * editor.scale, w * editor.scale)
    blocks = alpha[0] is None and (oh, ow) == model_size  # blocks: a constant float set
    pieces = tiled(fn, src, **grid, strips=not blocks)  # strips: for the resize and alpha
    for q0, c0, y in pieces if blocks else final_rows(pieces, model_size, (oh, ow)):
        y = layouts.from_model(y, file_channels, editor.in_channels)
        if alpha[0] is not None:
            rows = alpha_rows(alpha[0], q0, q0 + y.shape[2], oh, ow, alpha[1])
            y = torch.cat([y, rows], 1)
        ints = layouts.to_integer(y, dtype).cpu()
        if out is None:
            out = torch.empty((n, oh, ow, ints.shape[-1]), dtype=store)
        out[:, q0 : q0 + ints.shape[1], c0 : c0 + ints.shape[2]] = ints.to(store)
    assert out is not None
    return out


def final_rows(
    strips: Iterator[Block],
    model_size: tuple[int, int],
    size: tuple[int, int],
) -> Iterator[Block]:
    """The model-scale strips ``(row, 0, (N, C, rows, W * scale) float)`` of
    :func:`~ganedit.infer.tiling.tiled`, resized to ``size`` strip by strip when ``outscale``
    asks for another size (antialiased bicubic, clamped to [0, 1], as ``Editor._rescale``)."""
    if size == model_size:
        yield from strips
        return
    resizer = StripResizer(model_size[0], size[0], size[1], antialias=True)
    for row, _, strip in strips:
        for q0, part in resizer.feed(row, strip):
            yield q0, 0, part.clamp_(0, 1)


def alpha_rows(
    alpha: torch.Tensor, q0: int, q1: int, oh: int, ow: int, peak: float = 1.0
) -> torch.Tensor:
    """Rows ``q0:q1`` of ``alpha`` ``(N, 1, H, W)`` (float in [0, 1], or integer up to
    ``peak``) resized to ``(oh, ow)`` as :func:`ganedit.infer.layouts.merge_alpha` resizes
    it (bicubic, antialiased when shrinking, clamped to [0, 1]); float32."""
    h, w = alpha.shape[-2:]

    def unit(part: torch.Tensor) -> torch.Tensor:
        return part if part.is_floating_point() else part.to(torch.float32).div_(peak)

    if (h, w) == (oh, ow):
        return unit(alpha[:, :, q0:q1])
    shrink = h > oh or w > ow
    c0, band = row_weights(h, oh, q0, q1, antialias=shrink)
    part = resize_width(unit(alpha[:, :, c0 : c0 + band.shape[1]]), ow, antialias=shrink)
    rows = torch.einsum("qk,nckw->ncqw", band.to(part.device), part)
    return rows.clamp_(0, 1)
