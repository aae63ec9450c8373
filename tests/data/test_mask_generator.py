"""ganedit.data.masks: LaMa-style generated masks (module test for ganedit/data/masks.py)."""

from __future__ import annotations

import pytest
import torch

import ganedit.data as D
from ganedit.data.masks import _paint_segments

# mean hole fraction per kind (stated in the module docstring) and the tolerance of the check
AREA = {"thin": 0.05, "medium": 0.13, "thick": 0.26, "box": 0.12, "mixed": 0.145}


@pytest.mark.parametrize("kind", D.MASK_KINDS)
def test_shape_binary_and_deterministic(kind):
    gen = D.MaskGenerator(kind)
    m = gen(6, 24, 40, seed=3, device="cpu")
    assert m.shape == (6, 1, 24, 40) and m.dtype == torch.float32 and m.device.type == "cpu"
    assert set(m.unique().tolist()) <= {0.0, 1.0} and m.sum() > 0
    assert torch.equal(m, gen(6, 24, 40, seed=3))
    assert torch.equal(m, D.seeded_masks(kind, 6, 24, 40, seed=3))
    assert not torch.equal(m, gen(6, 24, 40, seed=4))


@pytest.mark.parametrize("kind", D.MASK_KINDS)
def test_mean_area_per_kind(kind):
    m = D.MaskGenerator(kind)(384, 64, 64, seed=11)
    assert m.mean().item() == pytest.approx(AREA[kind], abs=0.15 * AREA[kind] + 0.005)


def test_per_sample_seeds_and_generators():
    gen = D.MaskGenerator("medium")
    two = gen.from_seeds([5, 6], 32, 32)
    assert torch.equal(two[1], gen.from_seeds([6], 32, 32)[0])  # mask i depends on seed i only
    assert not torch.equal(two[0], two[1])
    g = torch.Generator().manual_seed(9)
    first, second = gen(2, 16, 16, seed=g), gen(2, 16, 16, seed=g)  # the generator advances
    assert torch.equal(first, gen(2, 16, 16, seed=torch.Generator().manual_seed(9)))
    assert not torch.equal(first, second)
    assert gen.from_seeds([], 8, 8).shape == (0, 1, 8, 8)


def test_strokes_are_exact_distances():
    """The block-culled painter equals the brute-force distance of every pixel to every
    segment."""
    g = torch.Generator().manual_seed(0)
    h, w = 37, 53
    seg = torch.rand(3, 7, 4, generator=g) * torch.tensor([w, h, w, h]) * 1.2 - 3
    r2 = (torch.rand(3, 7, generator=g) * 6) ** 2
    r2[:, -2:] = -1.0  # unused segments
    ys = torch.arange(h).float().view(1, 1, h, 1) + 0.5
    xs = torch.arange(w).float().view(1, 1, 1, w) + 0.5
    x0, y0, x1, y1 = (seg[..., i, None, None] for i in range(4))
    dx, dy = x1 - x0, y1 - y0
    t = (((xs - x0) * dx + (ys - y0) * dy) / (dx * dx + dy * dy).clamp(min=1e-6)).clamp(0, 1)
    d2 = (xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2
    brute = (d2 <= r2[..., None, None]).any(1)
    for tile in (4, 16):
        assert torch.equal(_paint_segments(seg, r2, h, w, tile=tile), brute)


def test_custom_recipe_and_bad_kind():
    boxes = D.MaskGenerator(D.MaskRecipe(boxes=(1, 1), box_size=(0.5, 0.5)))
    m = boxes(4, 20, 20, seed=0)
    assert (m.sum((1, 2, 3)) == 100).all()  # one 10x10 box each
    with pytest.raises(ValueError, match="unknown mask kind 'huge'"):
        D.MaskGenerator("huge")


def test_tiny_and_non_square_masks():
    m = D.MaskGenerator("mixed")(3, 5, 7, seed=1)
    assert m.shape == (3, 1, 5, 7) and set(m.unique().tolist()) <= {0.0, 1.0}
