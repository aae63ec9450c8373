"""Tiled inference (ganedit/infer/tiling.py) matches untiled inference and leaves no seams;
the inputs dict (image, mask) is cut into matching tiles."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganedit.infer.tiling import (
    _axis_window,
    legal_tile,
    pad_to_multiple,
    tile_starts,
    tiled,
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


def _masked_net(scale: int) -> nn.Module:
    """A masked family's shape: image (3) and mask (1) in, the image blended by the mask
    (receptive radius 2 input pixels)."""
    torch.manual_seed(1)
    body = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    class Masked(nn.Module):
        def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
            x, m = inputs["image"], inputs["mask"]
            y = x * (1 - m) + body(torch.cat([x, m], 1)) * m
            return F.interpolate(y, scale_factor=scale, mode="nearest") if scale > 1 else y

    return Masked().eval()


@pytest.mark.parametrize("scale", [1, 2])
def test_the_inputs_dict_is_cut_into_matching_tiles(scale: int) -> None:
    """Image and mask go in as the family's dict, not as a stacked channel: every tile of the
    mask lies on its tile of the image (the masked blend equals the untiled one)."""
    net = _masked_net(scale)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 45, 70, generator=g)
    mask = (torch.rand(2, 1, 45, 70, generator=g) > 0.6).float()
    seen: list[tuple[int, ...]] = []

    def fn(tiles: dict[str, torch.Tensor]) -> torch.Tensor:
        assert set(tiles) == {"image", "mask"}
        assert tiles["mask"].shape[1] == 1 and tiles["image"].shape[1] == 3
        assert tiles["mask"].shape[-2:] == tiles["image"].shape[-2:]
        seen.append(tuple(tiles["image"].shape))
        return net(tiles)

    with torch.no_grad():
        padded = {k: pad_to_multiple(v, 4)[0] for k, v in {"image": x, "mask": mask}.items()}
        ref = net(padded)[..., : 45 * scale, : 70 * scale]
        out = tiled_forward(fn, {"image": x, "mask": mask}, scale=scale, tile=16, overlap=8,
                            multiple=4, tiles_per_batch=2)  # fmt: skip
    assert len(seen) > 4 and out.shape == ref.shape
    assert (out - ref).abs().max().item() < 1e-4
    kept = (mask == 0).expand_as(x)
    if scale == 1:  # the kept pixels are the input's, exactly where the mask says
        assert torch.allclose(out[kept], x[kept], atol=1e-6)


def test_inputs_of_other_sizes_or_without_an_image_are_refused() -> None:
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ValueError, match="does not match image"):
        list(tiled(lambda d: d["image"], {"image": x, "mask": torch.zeros(1, 1, 40, 39)},
                   scale=1, tile=16, overlap=8))  # fmt: skip
    with pytest.raises(ValueError, match="'image'"):
        list(tiled(lambda d: d["x"], {"x": x}, scale=1, tile=16, overlap=8))


def test_an_integer_image_is_cut_as_it_is() -> None:
    """Integer pixels needing no padding are cut into integer tiles (no float copy of the
    whole input); the result equals tiling the float image."""
    img = torch.randint(0, 256, (1, 3, 48, 64), dtype=torch.uint8)
    net = _net(2)
    dtypes: set[torch.dtype] = set()

    def fn(tiles: dict[str, torch.Tensor]) -> torch.Tensor:
        dtypes.add(tiles["image"].dtype)
        return net(tiles["image"].float() / 255)

    with torch.no_grad():
        got = tiled_forward(fn, {"image": img}, scale=2, tile=32, overlap=16, multiple=4)
        want = net(img.float() / 255)
    assert dtypes == {torch.uint8}
    assert (got - want).abs().max().item() < 1e-4
