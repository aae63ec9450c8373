"""ganedit.load / Editor: weights, config, layouts, precision, tiling, GENERATE."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "infer"))
from tiny_families import TinyConfig, TinyGen, TinyInpaint, TinyKeep, TinyUp  # noqa: E402

from ganedit.config import ConfigError  # noqa: E402
from ganedit.editor import Editor, load  # noqa: E402
from ganedit.weights import WeightsError, save_weights  # noqa: E402


def _rand(shape, dtype=np.uint8, seed=0):
    peak = 255 if dtype == np.uint8 else 65535
    return np.random.default_rng(seed).integers(0, peak + 1, size=shape).astype(dtype)


def test_random_init_is_reproducible_and_cpu_fp32() -> None:
    a, b = load(TinyUp(), weights=False), load(TinyUp, weights="random")
    assert isinstance(a, Editor) and a.device.type == "cpu" and a.precision.name == "fp32"
    assert not a.generator.training
    img = _rand((9, 13, 3))
    assert np.array_equal(a(img), b(img))
    assert a.card["weights"] == "random" and a.weights_path is None and a.weights_sha256 is None


def test_no_bundled_weights_is_a_clear_error() -> None:
    with pytest.raises(WeightsError, match="weights=False"):
        load(TinyUp())


def test_weights_round_trip_fp16_card_config_and_override(tmp_path: Path) -> None:
    fam = TinyUp()
    torch.manual_seed(3)
    gen = fam.build(TinyConfig(scale=2, channels=4))["generator"]
    card = {"family": "tiny-up", "config": {"scale": 2, "channels": 4, "delay": 0.0}}
    path = save_weights(tmp_path / "w.safetensors", gen.state_dict(), card, dtype=torch.float16)
    ed = load(fam, weights=path)
    assert ed.config.channels == 4 and ed.scale == 2  # from the card
    assert all(p.dtype == torch.float32 for p in ed.generator.parameters())
    assert ed.weights_sha256 == ed.card["sha256"] and ed.weights_path == path
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        ref = fam.predict(gen.half().float(), x)
    assert torch.allclose(ed(x), ref, atol=1e-5)
    with pytest.raises(ConfigError, match="unknown option"):
        load(fam, weights=path, nonsense=1)
    with pytest.raises(WeightsError, match="do not fit"):
        load(fam, weights=path, channels=5)
    with pytest.raises(WeightsError, match="tiny-keep"):
        load(TinyKeep(), weights=path)


def test_layouts_dtypes_and_sizes() -> None:
    ed = load(TinyUp(), weights=False)
    for shape, dtype in [
        ((11, 7, 3), np.uint8),
        ((11, 7, 4), np.uint8),
        ((11, 7, 1), np.uint8),
        ((11, 7), np.uint16),
        ((11, 7, 4), np.uint16),
    ]:
        out = ed(_rand(shape, dtype))
        assert out.dtype == dtype
        assert out.shape == (22, 14, *shape[2:])
    gray = _rand((10, 10))
    rgb = np.repeat(gray[..., None], 3, axis=2)
    g_out, rgb_out = ed(gray).astype(int), ed(rgb).astype(np.float32)
    lum = 0.299 * rgb_out[..., 0] + 0.587 * rgb_out[..., 1] + 0.114 * rgb_out[..., 2]
    assert np.abs(g_out - lum).max() <= 1.0
    # alpha passes through unchanged for an x1 model
    keep = load(TinyKeep(), weights=False)
    rgba = _rand((9, 9, 4), seed=3)
    assert np.array_equal(keep(rgba)[..., 3], rgba[..., 3])
    # 16-bit precision is kept (not squashed to 8 bit)
    u16 = _rand((12, 12, 3), np.uint16, seed=2)
    assert len(np.unique(keep(u16))) > 300


def test_tensor_in_tensor_out_and_forward_errors() -> None:
    ed = load(TinyUp(), weights=False, scale=4)
    y = ed(torch.rand(2, 3, 5, 6))
    assert y.shape == (2, 3, 20, 24) and y.dtype == torch.float32
    assert 0 <= y.min() and y.max() <= 1
    with pytest.raises(ValueError, match="channel"):
        ed.forward(torch.rand(1, 4, 8, 8))


def test_tile_auto_and_explicit_close_to_whole() -> None:
    x = torch.rand(1, 3, 60, 75)
    whole = load(TinyUp(), weights=False, tile=0)(x)
    tiled_ed = load(TinyUp(), weights=False, tile=24, tile_overlap=16)
    assert tiled_ed.plan(60, 75)[0] == 24
    assert (tiled_ed(x) - whole).abs().max() < 1e-4
    auto = load(TinyUp(), weights=False)
    assert auto.plan(60, 75)[0] is None  # small: no tiling
    tile, _ = auto.plan(3000, 4000)  # a 4000x3000 x4 upscale tiles on the CPU budget
    auto4 = load(TinyUp(), weights=False, scale=4)
    tile4, batch4 = auto4.plan(3000, 4000)
    assert tile4 is not None and batch4 >= 1
    # peak per call: (tile*4)^2 output pixels fit the CPU budget
    assert (tile4 * 4) ** 2 * 2048 <= 2 << 30


def test_fractional_outscale_tiled_matches_untiled() -> None:
    x = torch.rand(1, 3, 45, 38)
    tiled = load(TinyUp(), weights=False, outscale=3.5, tile=16, tile_overlap=8)
    assert tiled.plan(45, 38)[0] == 16 and tiled.scale == 2
    whole = load(TinyUp(), weights=False, outscale=3.5, tile=0)
    y, ref = tiled(x), whole(x)
    assert y.shape == ref.shape == (1, 3, round(45 * 3.5), round(38 * 3.5))
    assert 0 <= y.min() and y.max() <= 1
    assert (y - ref).abs().max() < 2 / 255
    # numpy paths: alpha, gray and 16-bit follow the final size
    for shape, dtype in [((45, 38, 4), np.uint8), ((45, 38), np.uint16), ((45, 38, 1), np.uint8)]:
        out = tiled(_rand(shape, dtype))
        assert out.dtype == dtype and out.shape == (158, 133, *shape[2:])
    rgba = _rand((45, 38, 4), seed=5)
    rgba[..., 3] = 200
    assert np.abs(tiled(rgba)[..., 3].astype(int) - 200).max() <= 1
    # downscaling below the model's scale (x2 model, 0.5 final)
    assert load(TinyUp(), weights=False, outscale=0.5)(x).shape == (1, 3, 22, 19)


def test_whole_number_outscale_equal_to_scale_is_the_model_path() -> None:
    x = torch.rand(1, 3, 30, 26)
    plain = load(TinyUp(), weights=False, tile=12)
    same = load(TinyUp(), weights=False, outscale=2, tile=12)
    assert torch.equal(same(x), plain(x))
    assert load(TinyUp(), weights=False, outscale=3)(x).shape == (1, 3, 90, 78)


@pytest.mark.parametrize("bad", [0, -1.5, float("nan"), "x"])
def test_invalid_outscale_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="outscale must be a positive number"):
        load(TinyUp(), weights=False, outscale=bad)
    ed = load(TinyUp(), weights=False)
    with pytest.raises(ValueError, match="outscale"):
        ed.outscale = bad  # type: ignore[assignment]


def test_outscale_rejected_for_generate_family() -> None:
    with pytest.raises(ValueError, match="outscale"):
        load(TinyGen(), weights=False, outscale=2)


def test_half_precision_on_cpu_falls_back_with_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ed = load(TinyKeep(), weights=False, precision="fp16")
    assert ed.precision.name == "fp32"
    assert any("fp32" in str(w.message) for w in caught)


def test_mask_family() -> None:
    ed = load(TinyInpaint(), weights=False)
    img = _rand((10, 14, 3))
    mask = np.zeros((10, 14), bool)
    mask[2:6, 4:9] = True
    out = ed(img, mask)
    assert np.array_equal(out[~mask], img[~mask]) and not np.array_equal(out[mask], img[mask])
    with pytest.raises(ValueError, match="mask"):
        ed(img)


def test_generate_family() -> None:
    ed = load(TinyGen(), weights=False)
    s = ed.sample(5, seed=1)
    assert s.shape == (5, 8, 8, 3) and s.dtype == np.uint8
    assert np.array_equal(s, ed.sample(5, seed=1)) and not np.array_equal(s, ed.sample(5, seed=2))
    z = ed.latents(3, 0)
    assert ed.generate(z).shape == (3, 3, 8, 8)
    with pytest.raises(TypeError, match="sample"):
        ed(_rand((8, 8, 3)))


def test_bad_input_types() -> None:
    ed = load(TinyKeep(), weights=False)
    with pytest.raises(TypeError, match="uint8"):
        ed(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="C in 1, 3, 4"):
        ed(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(TypeError):
        load(42)


class _OOMKeep(TinyKeep):
    """Raises out-of-memory for calls over 1024 pixels (batch included), like a small GPU."""

    def predict(self, generator, x, mask=None):
        if x.shape[0] * x.shape[-2] * x.shape[-1] > 1024:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().predict(generator, x, mask)


def test_out_of_memory_halves_batch_then_tile() -> None:
    x = torch.rand(4, 3, 64, 64)
    ref = load(TinyKeep(), weights=False, tile=0)(x)
    ed = load(_OOMKeep(), weights=False, tile=0, tile_overlap=16, batch_size=4)
    with pytest.warns(RuntimeWarning, match="out of memory"):
        y = ed(x)
    assert ed._oom_tile == 32
    assert (y - ref).abs().max() < 1e-5
