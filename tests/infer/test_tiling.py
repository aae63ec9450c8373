"""Tiled inference matches untiled inference and leaves no seams."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganedit.infer.tiling import (
    _axis_window,
    legal_tile,
    pad_to_multiple,
    tile_starts,
    tiled_forward,
)


def _net(scale: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
    ]
    if scale > 1:
        layers += [nn.ReLU(), nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
    else:
        layers += [nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1)]
    return nn.Sequential(*layers).eval()  # receptive radius 3 input pixels


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("size", [(50, 70), (37, 91), (64, 64)])
def test_tiled_matches_untiled(scale: int, size: tuple[int, int]) -> None:
    net = _net(scale)
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        # reference: the whole image, padded like the tiled path pads it
        xp, (h, w) = pad_to_multiple(x, 4)
        ref = net(xp)[..., : h * scale, : w * scale]
        out = tiled_forward(net, x, scale=scale, tile=24, overlap=16, multiple=4, tiles_per_batch=3)
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert (out - ref).abs().max().item() < 1e-4


def test_small_image_single_tile() -> None:
    net = _net(2)
    x = torch.rand(1, 3, 10, 13)
    with torch.no_grad():
        out = tiled_forward(net, x, scale=2, tile=64, overlap=16, multiple=4)
        xp, _ = pad_to_multiple(x, 4)
        ref = net(xp)[..., :20, :26]
    assert out.shape == (1, 3, 20, 26)
    assert torch.equal(out, ref)


def test_tiny_image_padding_smaller_than_multiple() -> None:
    x = torch.rand(1, 3, 1, 2)
    xp, size = pad_to_multiple(x, 8)
    assert xp.shape[-2:] == (8, 8) and size == (1, 2)
    assert torch.equal(xp[..., :1, :2], x)


def test_no_seam_on_gradient() -> None:
    """A non-local model (a big blur: receptive field beyond the exact-seam limit) on a smooth
    ramp: the tiled output stays smooth, with no jump at tile borders."""
    blur = nn.Conv2d(1, 1, 9, padding=4, bias=False, padding_mode="replicate")
    with torch.no_grad():
        blur.weight.fill_(1 / 81)
    ramp = torch.linspace(0, 1, 96).view(1, 1, 1, 96).expand(1, 1, 96, 96).contiguous()
    ramp = ramp + ramp.transpose(-1, -2)
    with torch.no_grad():
        out = tiled_forward(blur, ramp, scale=1, tile=32, overlap=8, multiple=1)
    slope = 1 / 95  # per-pixel increase of the ramp along x and along y
    dx = out[..., :, 1:] - out[..., :, :-1]
    dy = out[..., 1:, :] - out[..., :-1, :]
    # away from the image border the ramp's slope is constant; tile borders must not break it
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    assert (dx[inner] - slope).abs().max().item() < 2e-3
    assert (dy[inner] - slope).abs().max().item() < 2e-3


def test_tile_starts_cover_and_align() -> None:
    starts = tile_starts(100, 32, 8, 4)
    assert starts[0] == 0 and starts[-1] == 68
    assert all(s % 4 == 0 for s in starts)
    cover = set()
    for s in starts:
        cover.update(range(s, s + 32))
    assert cover == set(range(100))
    assert tile_starts(20, 32, 8, 4) == [0]


def test_wrong_output_size_is_reported() -> None:
    with pytest.raises(ValueError, match="expected"):
        tiled_forward(
            lambda t: t[..., :-1, :], torch.rand(1, 3, 64, 64), scale=1, tile=32, overlap=8
        )


@pytest.mark.parametrize("multiple", [1, 2, 4, 16])
@pytest.mark.parametrize("tile, overlap", [(1, 0), (16, 8), (16, 16), (20, 7), (64, 40)])
def test_legal_tile_rounds_up_to_what_tiles_exactly(multiple, tile, overlap) -> None:
    t, ov = legal_tile(tile, overlap, multiple)
    assert t >= tile and ov >= overlap
    assert t % multiple == 0 and ov % multiple == 0
    assert t >= 2 * ov and t - ov >= multiple
    assert legal_tile(t, ov, multiple) == (t, ov)  # a legal pair stays as it is


@pytest.mark.parametrize("size", [33, 64, 100, 161])
@pytest.mark.parametrize("multiple", [1, 4, 16])
def test_neighbours_really_share_the_overlap(size: int, multiple: int) -> None:
    size = -(-size // multiple) * multiple
    tile, overlap = legal_tile(16, 8, multiple)
    starts = tile_starts(size, tile, overlap, multiple)
    assert starts[0] == 0 and starts[-1] + tile == size or starts == [0]
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap and b > a and b % multiple == 0
    windows, total = _axis_window(size, starts, tile, 2, torch.device("cpu"))
    assert total.min() > 0.05  # the blend weight never vanishes
    assert total.shape == (size * 2,)


def test_tile_without_a_whole_stride_is_refused() -> None:
    with pytest.raises(ValueError, match="legal_tile"):
        tile_starts(64, 16, 8, 16)  # stride 0: would give neighbours no overlap


def test_black_grid_request_is_rounded_and_exact() -> None:
    """Tile 16, overlap 8, multiple 16 used to write a black grid every 16 pixels."""
    net = _net(1)
    x = torch.rand(1, 3, 64, 80)
    with torch.no_grad():
        ref = net(x)
        out = tiled_forward(net, x, scale=1, tile=16, overlap=8, multiple=16)
    assert (out - ref).abs().max().item() < 1e-4
