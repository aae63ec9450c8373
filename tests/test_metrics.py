"""ganedit.metrics: edge F1 and gradient-energy ratio on images whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ganedit.metrics import (
    canny_edges,
    edge_f1,
    edge_scores,
    gradient_energy_ratio,
    gradient_magnitude,
    region_interior,
    to_luma8,
)


def _stripes(h: int = 96, w: int = 96, period: int = 16, shift: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 vertical bars, dark/bright, edges every period/2 px."""
    x = (np.arange(w) + shift) // (period // 2) % 2
    img = np.where(x[None, :] == 1, 200, 40).astype(np.uint8)
    return np.repeat(np.repeat(img, h, 0)[:, :, None], 3, 2)


def _hole(h: int = 96, w: int = 96) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[24:72, 24:72] = True
    return m


def test_identical_image_scores_one_and_ratio_one() -> None:
    img, hole = _stripes(), _hole()
    s = edge_scores(img, img, hole)
    assert s.f1 == 1.0 and s.precision == 1.0 and s.recall == 1.0
    assert s.original_edges > 0
    assert gradient_energy_ratio(img, img, hole) == pytest.approx(1.0)


def test_a_blurred_hole_has_no_edges_and_low_energy() -> None:
    img, hole = _stripes(), _hole()
    blurred = img.copy()
    blurred[hole] = cv2.GaussianBlur(img, (0, 0), 12)[hole]
    flat = img.copy()
    flat[hole] = 120
    # only the seam at the hole's rim has edges (near a real one here and there)
    assert edge_scores(flat, img, hole).recall < 0.15 and edge_f1(flat, img, hole) < 0.2
    assert edge_scores(blurred, img, hole).recall < 0.2
    assert gradient_energy_ratio(blurred, img, hole) < 0.3
    assert gradient_energy_ratio(flat, img, hole) < 0.05


def test_noise_is_busier_than_the_original_and_its_edges_are_imprecise() -> None:
    img, hole = _stripes(), _hole()
    rng = np.random.default_rng(0)
    noisy = img.copy()
    noisy[hole] = rng.integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
    assert gradient_energy_ratio(noisy, img, hole) > 1.3
    assert edge_scores(noisy, img, hole).precision < 0.9


def test_edges_match_within_the_tolerance_only() -> None:
    img, hole = _stripes(period=32), _hole()
    near, far = img.copy(), img.copy()
    near[hole] = _stripes(period=32, shift=2)[hole]  # every bar edge 2 px away
    far[hole] = _stripes(period=32, shift=8)[hole]  # 8 px away (half way between two edges)
    assert edge_f1(near, img, hole) == pytest.approx(1.0)
    assert edge_f1(far, img, hole, tolerance_px=3) < 0.3
    assert edge_f1(far, img, hole, tolerance_px=9) > 0.9


def test_edge_free_interiors_score_one_and_invented_edges_lower_precision() -> None:
    flat = np.full((64, 64, 3), 90, np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[16:48, 16:48] = True
    assert edge_f1(flat, flat, hole) == 1.0
    painted = flat.copy()
    painted[20:44, 30:34] = 230  # a bar that is not in the original
    s = edge_scores(painted, flat, hole)
    assert s.original_edges == 0 and s.filled_edges > 0
    assert s.precision == 0.0 and s.f1 == 0.0


def test_dtypes_and_layouts_agree() -> None:
    img, hole = _stripes(), _hole()
    shifted = img.copy()
    shifted[hole] = _stripes(shift=3)[hole]
    ref = edge_scores(shifted, img, hole)
    as16 = edge_scores(shifted.astype(np.uint16) * 257, img.astype(np.uint16) * 257, hole)
    asf = edge_scores(shifted / 255.0, img / 255.0, hole)
    gray = edge_scores(shifted[:, :, 0], img[:, :, 0], hole)
    assert as16 == ref and asf == ref and gray == ref
    assert gradient_energy_ratio(shifted[:, :, :1], img[:, :, :1], hole) == pytest.approx(
        gradient_energy_ratio(shifted, img, hole), rel=1e-6
    )
    assert to_luma8(np.dstack([img, np.zeros_like(img[:, :, 0])])).shape == (96, 96)


def test_gradient_magnitude_of_a_unit_step_is_one_half() -> None:
    step = np.zeros((8, 8), np.float32)
    step[:, 4:] = 1.0
    g = gradient_magnitude(step)
    assert g.dtype == np.float32
    assert g[4, 3] == pytest.approx(0.5) and g[4, 4] == pytest.approx(0.5) and g[4, 0] == 0


def test_interior_and_edge_cases() -> None:
    hole = _hole()
    inner = region_interior(hole, 2)
    assert inner.sum() == 44 * 44 and not inner[24, 24] and inner[26, 26]
    assert (region_interior(hole, 0) == hole).all()
    img = _stripes()
    thin = np.zeros_like(hole)
    thin[10, 10] = True
    assert np.isnan(gradient_energy_ratio(img, img, thin))
    assert canny_edges(img).dtype == bool
    with pytest.raises(ValueError, match="shapes differ"):
        edge_f1(img[:50], img, hole)


# ------------------------------------------------------- content score, classifier, Fréchet
def _items(n: int = 40, seed: int = 0):
    """(n, 1, 32, 32) float images: a bright rectangle of random place, size and brightness."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 32, 32)
    for i in range(n):
        t, left = torch.randint(0, 16, (2,), generator=g).tolist()
        h, w = torch.randint(6, 16, (2,), generator=g).tolist()
        x[i, :, t : t + h, left : left + w] = 0.3 + 0.7 * torch.rand((), generator=g)
    return x


def test_content_score_separates_kept_content_from_ignored_input() -> None:
    import torch

    from ganedit.metrics import content_score

    x = _items()
    assert content_score(x, x) == 1.0
    # a changed "style" (brighter, a stripe added) keeps the layout: still near 1
    styled = (x * 1.3).clamp(0, 1)
    styled[..., 4:6, :] = 0.5
    assert content_score(styled, x) > 0.9
    # an output that ignores its input: one fixed image for all, or a shuffled one
    same = x[:1].expand_as(x).contiguous()
    assert content_score(same, x) == pytest.approx(0.5, abs=0.12)
    perm = torch.roll(x, 1, 0)
    assert content_score(perm, x) < 0.5
    # RGB outputs of gray inputs are compared as luma; draws are reproducible
    rgb = x.repeat(1, 3, 1, 1)
    assert content_score(rgb, x) == 1.0
    assert content_score(same, x, seed=3) == content_score(same, x, seed=3)
    with pytest.raises(ValueError, match="N >= 2"):
        content_score(x[:1], x[:1])


def test_gaussian_blur_keeps_mass_and_smooths() -> None:
    import torch

    from ganedit.metrics import gaussian_blur

    x = torch.zeros(1, 1, 33, 33)
    x[..., 16, 16] = 1.0
    y = gaussian_blur(x, 2.0)
    assert float(y.sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(y.max()) == pytest.approx(1 / (2 * np.pi * 4), rel=0.05)
    assert torch.equal(gaussian_blur(x, 0), x)


def test_frechet_distance_of_known_gaussians() -> None:
    from ganedit.metrics import frechet_distance, gaussian_stats

    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    mu, cov = gaussian_stats(a)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)
    # N(0, I) vs N(m, 4 I): |m|^2 + 3 (1 + 4 - 2 * 2)
    m = np.array([1.0, 2.0, 0.0])
    assert frechet_distance(np.zeros(3), np.eye(3), m, 4 * np.eye(3)) == pytest.approx(8.0)


def test_classifier_prepare_and_features() -> None:
    import torch

    from ganedit.metrics import FashionClassifier, features_and_predictions, prepare

    items = (torch.rand(5, 1, 28, 28) * 255).byte()
    assert prepare(items, 32).shape == (5, 1, 32, 32)
    assert torch.equal(prepare(items, 32)[..., :2, :], torch.zeros(5, 1, 2, 32))
    assert prepare(items, 64).shape == (5, 1, 64, 64)
    net = FashionClassifier(width=8, size=64).eval()
    f, p = features_and_predictions(net, items, batch=2)
    assert f.shape == (5, 32) and p.shape == (5,) and p.dtype == torch.int64
    with pytest.raises(ValueError, match="size"):
        FashionClassifier(size=48)
