"""Geometric self-ensemble (ganedit.infer.ensemble) and the Editor's self_ensemble option."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_kit import TinyGen, TinyInpaint, TinyUp

from ganedit.infer import load
from ganedit.infer.ensemble import check_views, self_ensemble


def _up2(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Exactly equivariant under flips and transposes: nearest-neighbour x2."""
    return F.interpolate(inputs["image"], scale_factor=2, mode="nearest")


def _left_bias(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Not equivariant: adds a ramp that grows to the right (columns 0..w-1)."""
    x = inputs["image"]
    ramp = torch.arange(x.shape[-1], dtype=x.dtype).expand_as(x)
    return x + ramp


@pytest.mark.parametrize("views", [1, 2, 4, 8])
def test_equivariant_model_is_unchanged(views: int) -> None:
    x = torch.rand(2, 3, 5, 7)
    assert torch.allclose(self_ensemble(_up2, {"image": x}, views), _up2({"image": x}), atol=1e-6)


def test_views_are_undone_and_averaged() -> None:
    x = torch.zeros(1, 1, 3, 4)
    # a horizontal flip turns the ramp 0..3 into 3..0: the 2-view mean is flat at 1.5
    assert torch.allclose(self_ensemble(_left_bias, {"image": x}, 2), torch.full_like(x, 1.5))
    # 4 views: vertical flips do not touch a horizontal ramp, still flat 1.5
    assert torch.allclose(self_ensemble(_left_bias, {"image": x}, 4), torch.full_like(x, 1.5))
    # 8 views: transposed views put the ramp along rows (0..2, mean 1), so the mean of
    # 4 x 1.5 (columns) and 4 x 1.0 (rows) is 1.25 everywhere
    assert torch.allclose(self_ensemble(_left_bias, {"image": x}, 8), torch.full_like(x, 1.25))


def test_every_view_is_a_distinct_dihedral_transform() -> None:
    seen: list[torch.Tensor] = []

    def record(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        assert torch.equal(inputs["mask"], inputs["image"] % 2)  # the mask moves with it
        seen.append(inputs["image"].clone())
        return inputs["image"]

    x = torch.arange(12.0).view(1, 1, 3, 4)
    self_ensemble(record, {"image": x, "mask": x % 2}, 8)
    assert len(seen) == 8
    keys = {tuple(v.flatten().tolist()) + tuple(v.shape) for v in seen}
    assert len(keys) == 8
    assert torch.equal(seen[0], x)
    assert sum(v.shape[-2:] == (4, 3) for v in seen) == 4


@pytest.mark.parametrize("bad", [0, 3, 16, "x", None, True])
def test_bad_view_counts_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="1, 2, 4, 8"):
        check_views(bad)  # type: ignore[arg-type]


def test_editor_self_ensemble_averages_and_is_validated() -> None:
    x = torch.rand(1, 3, 12, 16)  # multiples of TinyUp's size_multiple: no padding
    plain = load(TinyUp(), weights=False)
    ens = load(TinyUp(), weights=False, self_ensemble=8)
    assert ens.self_ensemble == 8 and "self_ensemble=8" in repr(ens)
    manual = self_ensemble(plain._predict, {"image": x}, 8)
    out = ens(x)
    assert out.shape == plain(x).shape == (1, 3, 24, 32)
    assert torch.allclose(out, manual, atol=1e-6)
    assert not torch.allclose(out, plain(x), atol=1e-3)  # a random conv is not equivariant
    with pytest.raises(ValueError, match="1, 2, 4, 8"):
        load(TinyUp(), weights=False, self_ensemble=3)
    with pytest.raises(ValueError, match="generates"):
        load(TinyGen(), weights=False, self_ensemble=2)


def test_editor_self_ensemble_with_tiles_matches_whole_image() -> None:
    img = np.random.default_rng(0).integers(0, 256, (40, 56, 3)).astype(np.uint8)
    whole = load(TinyUp(), weights=False, self_ensemble=4, tile=0)(img)
    tiled = load(TinyUp(), weights=False, self_ensemble=4, tile=16, tile_overlap=8)(img)
    assert whole.shape == (80, 112, 3)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_editor_self_ensemble_moves_the_mask_with_the_image() -> None:
    """The kept (unmasked) pixels of an inpainting result stay exactly the input."""
    x = torch.rand(1, 3, 12, 10)
    mask = torch.zeros(1, 1, 12, 10)
    mask[..., 2:5, 6:9] = 1
    out = load(TinyInpaint(), weights=False, self_ensemble=8).forward(x, mask)
    keep = mask.expand_as(x) == 0
    assert torch.allclose(out[keep], x[keep], atol=1e-6)
    assert not torch.allclose(out[~keep], x[~keep], atol=1e-3)
