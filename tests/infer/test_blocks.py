"""Block-by-block tiling (ganedit/infer/blocks.py): the same pixels as the strips, every
output pixel handed over exactly once, blocks no wider than a tile."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganedit.infer.blocks import tiled_blocks
from ganedit.infer.tiling import tiled_forward


def _model(scale: int):  # type: ignore[no-untyped-def]
    """A fixed, position-independent model: 3x3 conv, then nearest upscaling."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def fn(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            y = conv(t.float())
        return F.interpolate(y, scale_factor=scale, mode="nearest") if scale > 1 else y

    return fn


@pytest.mark.parametrize(
    ("size", "tile", "overlap", "scale", "per_call", "multiple"),
    [((100, 90), 32, 8, 2, 1, 1), ((100, 90), 32, 8, 2, 3, 1), ((61, 47), 16, 8, 4, 2, 1),
     ((50, 130), 40, 16, 1, 1, 1), ((70, 66), 24, 8, 2, 2, 4), ((33, 200), 64, 8, 2, 1, 1)],
)  # fmt: skip
def test_blocks_equal_the_strips_and_cover_the_output_once(
    size: tuple[int, int], tile: int, overlap: int, scale: int, per_call: int, multiple: int
) -> None:
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(1))
    fn = _model(scale)
    grid = {"scale": scale, "tile": tile, "overlap": overlap, "multiple": multiple,
            "tiles_per_batch": per_call}  # fmt: skip
    want = tiled_forward(fn, x, **grid)
    got = torch.full_like(want, float("nan"))
    count = torch.zeros(want.shape[-2:])
    widest = 0
    for row, col, block in tiled_blocks(fn, x, **grid):
        h, w = block.shape[-2:]
        got[..., row : row + h, col : col + w] = block
        count[row : row + h, col : col + w] += 1
        widest = max(widest, w)
    assert torch.equal(count, torch.ones_like(count))
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    assert widest <= max(tile, multiple) * scale


def test_one_tile_is_one_block() -> None:
    x = torch.rand(1, 3, 20, 20)
    ((row, col, block),) = list(tiled_blocks(_model(2), x, scale=2, tile=64, overlap=8))
    assert (row, col) == (0, 0) and block.shape == (1, 2, 40, 40)


def test_a_model_returning_the_wrong_size_is_refused() -> None:
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match="model returned"):
        list(tiled_blocks(lambda t: t, x, scale=2, tile=32, overlap=8))
