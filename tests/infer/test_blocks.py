"""Block-by-block tiling (:func:`ganedit.infer.tiling.tiled`): the same pixels as the strips
and as the whole tensor, every output pixel handed over exactly once, blocks no wider than a
tile; the float working set stays about one tile (plus the shared rows) however wide."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganedit.infer.tiling import tiled, tiled_forward


def _model(scale: int):  # type: ignore[no-untyped-def]
    """A fixed, position-independent model: 3x3 conv, then nearest upscaling."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def fn(tiles: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            y = conv(tiles["image"].float())
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
    want = fn({"image": x}) if multiple == 1 else tiled_forward(fn, {"image": x}, **grid)
    for strips in (False, True):
        got = torch.full_like(want, float("nan"))
        count = torch.zeros(want.shape[-2:])
        widest = tallest = 0
        for row, col, block in tiled(fn, {"image": x}, **grid, strips=strips):
            h, w = block.shape[-2:]
            got[..., row : row + h, col : col + w] = block
            count[row : row + h, col : col + w] += 1
            widest, tallest = max(widest, w), max(tallest, h)
        assert torch.equal(count, torch.ones_like(count))
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
        if strips:  # full-width strips, no taller than a tile row
            assert widest == size[1] * scale and tallest <= max(tile, multiple) * scale
        else:
            assert widest <= max(tile, multiple) * scale


def test_one_tile_is_one_block() -> None:
    x = torch.rand(1, 3, 20, 20)
    ((row, col, block),) = list(tiled(_model(2), {"image": x}, scale=2, tile=64, overlap=8))
    assert (row, col) == (0, 0) and block.shape == (1, 2, 40, 40)


def test_a_model_returning_the_wrong_size_is_refused() -> None:
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match="model returned"):
        list(tiled(lambda d: d["image"], {"image": x}, scale=2, tile=32, overlap=8))


def test_blocks_hold_about_one_tile_in_float_however_wide(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The working set: blocks keep a window of one tile (the strips, a whole tile row), plus
    the rows the next tile row shares across the width; the same loop serves both."""
    from ganedit.infer import tiling

    windows: list[tuple[int, ...]] = []
    real = tiling._TileRow._extend

    def spy(self, piece, c1):  # type: ignore[no-untyped-def]
        out = real(self, piece, c1)
        windows.append(tuple(out.shape))
        return out

    monkeypatch.setattr(tiling._TileRow, "_extend", spy)
    x = torch.rand(1, 3, 40, 600)
    grid = {"scale": 2, "tile": 32, "overlap": 8}
    for strips, widest, pieces in ((False, 32 * 2, 2 * 25), (True, 600 * 2, 2)):
        windows.clear()
        got = [b.shape for _, _, b in tiled(_model(2), {"image": x}, **grid, strips=strips)]
        assert len(got) == pieces  # 2 tile rows of 25 tiles: a block per tile, or a strip per row
        assert max(w[-1] for w in windows) == widest  # columns held in float
        assert max(w[-2] for w in windows) == 32 * 2  # rows held: one tile row
