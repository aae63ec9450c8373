"""ganedit.load / Editor: weights, generators, config, layouts, masks, precision, tiling,
out-of-memory back-off, GENERATE."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_kit import (
    TinyColorize,
    TinyGen,
    TinyGray,
    TinyInpaint,
    TinyKeep,
    TinyNorm,
    TinyTwo,
    TinyUp,
    TwoConfig,
    UpConfig,
)

from ganedit.config import ConfigError
from ganedit.infer import Editor, load
from ganedit.infer.plan import BYTES_PER_OUTPUT_PIXEL, CPU_MEMORY_BUDGET, UntiledMemoryError
from ganedit.infer.tiling import pad_to_multiple
from ganedit.weights import WeightsError, pack_generators, save_weights

# auto precision is fp32 on a CPU without half-precision instructions: the exactness checks
# below compare fp32 runs
pytestmark = pytest.mark.usefixtures("fp32_cpu")


def _rand(shape, dtype=np.uint8, seed=0):
    peak = 255 if dtype == np.uint8 else 65535
    return np.random.default_rng(seed).integers(0, peak + 1, size=shape).astype(dtype)


def _whole(ed: Editor, x: torch.Tensor) -> torch.Tensor:
    """The untiled reference: the family's predict on the padded image, cropped back."""
    xp, (h, w) = pad_to_multiple(x, ed.io.size_multiple)
    with torch.no_grad():
        y = ed.family.predict(ed.generator, {"image": xp}, ed.config)
    return y[..., : h * ed.scale, : w * ed.scale]


# ------------------------------------------------------------------------- loading, weights
def test_random_init_is_reproducible_and_cpu_fp32() -> None:
    a, b = load(TinyUp(), weights=False), load(TinyUp, weights="random")
    assert isinstance(a, Editor) and a.device.type == "cpu" and a.precision.name == "fp32"
    assert not a.generator.training and a.generator_name == "generator"
    img = _rand((9, 13, 3))
    assert np.array_equal(a(img), b(img))
    assert a.card["weights"] == "random" and a.weights_path is None and a.weights_sha256 is None
    torch.manual_seed(123)  # the global seed does not change a random init
    assert np.array_equal(load(TinyUp(), weights=False)(img), a(img))


def test_no_bundled_weights_is_a_clear_error() -> None:
    with pytest.raises(WeightsError, match="weights=False"):
        load(TinyUp())


def test_weights_round_trip_fp16_card_config_and_override(tmp_path: Path) -> None:
    fam = TinyUp()
    torch.manual_seed(3)
    gen = fam.build(UpConfig(scale=2, channels=4))["generator"]
    card = {"family": "tiny-up", "config": {"scale": 2, "channels": 4, "delay": 0.0}}
    path = save_weights(tmp_path / "w.safetensors", gen.state_dict(), card, dtype=torch.float16)
    ed = load(fam, weights=path)
    assert ed.config.channels == 4 and ed.scale == 2  # from the card
    assert all(p.dtype == torch.float32 for p in ed.generator.parameters())
    assert ed.weights_sha256 == ed.card["sha256"] and ed.weights_path == path
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        ref = fam.predict(gen.half().float(), {"image": x}, ed.config)
    assert torch.allclose(ed(x), ref, atol=1e-5)
    with pytest.raises(ConfigError, match="unknown option"):
        load(fam, weights=path, nonsense=1)
    with pytest.raises(WeightsError, match="do not fit"):
        load(fam, weights=path, channels=5)
    with pytest.raises(WeightsError, match="tiny-keep"):
        load(TinyKeep(), weights=path)


def test_config_field_selects_the_generator_from_a_packed_file(tmp_path: Path) -> None:
    fam = TinyTwo()
    torch.manual_seed(1)
    nets = {name: fam.build_generator(name, TwoConfig()) for name in fam.generators}
    card = {"family": "tiny-cycle", "config": {"direction": "a2b"}}
    states = {k: v.state_dict() for k, v in nets.items()}
    path = save_weights(tmp_path / "two.safetensors", pack_generators(states), card)
    x = torch.rand(2, 3, 6, 5)
    for direction in ("a2b", "b2a"):
        ed = load(fam, weights=path, direction=direction)
        assert ed.generator_name == direction and ed.config.direction == direction
        with torch.no_grad():
            ref = fam.predict(nets[direction], {"image": x}, ed.config)
        assert torch.allclose(ed(x), ref, atol=1e-6)
    a2b, b2a = load(fam, weights=path)(x), load(fam, weights=path, direction="b2a")(x)
    assert not torch.allclose(a2b, b2a, atol=1e-3)  # two different networks ran
    assert "generator='b2a'" in repr(load(fam, weights=path, direction="b2a"))
    only_a = save_weights(tmp_path / "a.safetensors", pack_generators({"a2b": states["a2b"]}), card)
    with pytest.raises(WeightsError, match="no tensors for generator 'b2a'"):
        load(fam, weights=only_a, direction="b2a")


def test_unprefixed_single_generator_weights_still_load(tmp_path: Path) -> None:
    fam = TinyKeep()
    net = fam.build(UpConfig())["generator"]
    with torch.no_grad():
        net.weight.fill_(0.01)
    card = {"family": "tiny-keep", "config": {}}
    plain = save_weights(tmp_path / "plain.safetensors", net.state_dict(), card)
    packed = save_weights(
        tmp_path / "packed.safetensors", pack_generators({"generator": net.state_dict()}), card
    )
    x = torch.rand(1, 3, 7, 7)
    assert torch.equal(load(fam, weights=plain)(x), load(fam, weights=packed)(x))
    assert torch.allclose(load(fam, weights=plain).generator.weight, net.weight)


# --------------------------------------------------------------------------------- layouts
def test_dtypes_sizes_and_alpha() -> None:
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
    keep = load(TinyKeep(), weights=False)
    rgba = _rand((9, 9, 4), seed=3)
    out = keep(rgba)
    assert np.array_equal(out[..., 3], rgba[..., 3])  # x1: alpha passes through unchanged
    assert np.array_equal(out[..., :3], keep(np.ascontiguousarray(rgba[..., :3])))


def test_3_to_3_model_gives_gray_for_gray() -> None:
    ed = load(TinyUp(), weights=False)
    gray = _rand((10, 10))
    rgb = np.repeat(gray[..., None], 3, axis=2)
    g_out, rgb_out = ed(gray), ed(rgb).astype(np.float32)
    assert g_out.shape == (20, 20) and g_out.dtype == np.uint8
    lum = 0.299 * rgb_out[..., 0] + 0.587 * rgb_out[..., 1] + 0.114 * rgb_out[..., 2]
    assert np.abs(g_out.astype(int) - lum).max() <= 1.0
    assert ed(gray[..., None]).shape == (20, 20, 1)


def test_1_to_3_model_colours_gray_and_rgb_files() -> None:
    ed = load(TinyColorize(), weights=False)
    gray = _rand((6, 8), seed=1)
    out = ed(gray)
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    x = torch.from_numpy(gray).float()[None, None] / 255
    with torch.no_grad():
        ref = ed.family.predict(ed.generator, {"image": x}, ed.config)
    ref_px = (ref[0].permute(1, 2, 0) * 255).round().numpy()
    assert np.abs(out.astype(float) - ref_px).max() <= 1
    rgb = np.repeat(gray[..., None], 3, axis=2)  # an RGB file becomes gray first
    assert np.abs(ed(rgb).astype(int) - out.astype(int)).max() <= 1
    rgba = np.concatenate([rgb, np.full((6, 8, 1), 77, np.uint8)], axis=2)
    out4 = ed(rgba)
    assert out4.shape == (6, 8, 4) and (out4[..., 3] == 77).all()


def test_1_to_1_model_on_rgb_replicates_back_to_rgb() -> None:
    ed = load(TinyGray(), weights=False)
    rgb = _rand((7, 9, 3), seed=2)
    out = ed(rgb)
    assert out.shape == (7, 9, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    gray = ed(_rand((7, 9), seed=2))
    assert gray.shape == (7, 9)


def test_16_bit_is_kept() -> None:
    keep = load(TinyKeep(), weights=False)
    u16 = _rand((12, 12, 3), np.uint16, seed=2)
    out = keep(u16)
    assert out.dtype == np.uint16 and len(np.unique(out)) > 300  # not squashed to 8 bit
    ref = keep(torch.from_numpy(u16.astype(np.float32) / 65535).permute(2, 0, 1)[None])
    ref_px = (ref[0].permute(1, 2, 0) * 65535).round().numpy()
    assert np.abs(out.astype(float) - ref_px).max() <= 1


def test_tensor_in_tensor_out_and_forward_errors() -> None:
    ed = load(TinyUp(), weights=False, scale=4)
    y = ed(torch.rand(2, 3, 5, 6))
    assert y.shape == (2, 3, 20, 24) and y.dtype == torch.float32
    assert 0 <= y.min() and y.max() <= 1
    with pytest.raises(ValueError, match="channel"):
        ed.forward(torch.rand(1, 4, 8, 8))


# ---------------------------------------------------------------------------------- tiling
def test_auto_plan_tiles_only_what_does_not_fit_the_budget() -> None:
    auto = load(TinyUp(), weights=False, scale=4)
    tile, batch = auto.plan(60, 75)  # small: whole, as many per call as the budget holds
    assert tile is None and batch == CPU_MEMORY_BUDGET // BYTES_PER_OUTPUT_PIXEL // (240 * 300)
    tile, batch = auto.plan(3000, 4000)  # a 4000x3000 x4 upscale tiles on the CPU budget
    assert tile is not None and tile % 4 == 0 and tile >= 2 * auto.tiling.overlap
    assert (tile * 4) ** 2 * BYTES_PER_OUTPUT_PIXEL * batch <= CPU_MEMORY_BUDGET
    x = torch.rand(1, 3, 150, 170)  # a large image on a small budget really is tiled
    auto.pixel_budget = lambda: 200 * 200  # type: ignore[method-assign]
    tile, _ = auto.plan(150, 170)
    assert tile is not None and tile < 150
    assert (auto(x) - _whole(auto, x)).abs().max() < 1e-4


def test_black_grid_case_is_rounded_up_with_a_note_and_exact() -> None:
    """size_multiple 16, tile 16, overlap 8: neighbours used to share no pixel while the blend
    still zeroed the outer quarter of each edge, writing a black grid every 16 px."""
    x = torch.rand(1, 3, 80, 96)
    ed = load(TinyUp(), weights=False, multiple=16, tile=16, tile_overlap=8)
    assert (ed.tiling.tile, ed.tiling.overlap) == (32, 16)
    assert len(ed.notes) == 1 and "rounded up" in ed.notes[0] and "16" in ed.notes[0]
    with pytest.warns(RuntimeWarning, match="rounded up"):
        y = ed(x)
    assert (y - _whole(ed, x)).abs().max() < 1e-4
    assert y.min() > 0.01  # no black seams
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the note is given once
        ed(x)


@pytest.mark.parametrize("multiple", [1, 4, 16])
@pytest.mark.parametrize(
    "tile, overlap", [(1, 0), (8, 0), (8, 8), (16, 8), (17, 3), (24, 16), (33, 12), (40, 40)]
)
def test_supported_family_tiled_equals_untiled(multiple: int, tile: int, overlap: int) -> None:
    ed = load(TinyUp(), weights=False, multiple=multiple, tile=tile, tile_overlap=overlap)
    t, ov = ed.tiling.tile, ed.tiling.overlap
    assert t is not None and t % multiple == 0 and ov % multiple == 0
    assert ov >= max(overlap, ed.io.tiling.min_overlap) and t >= max(2 * ov, ov + multiple)
    assert bool(ed.notes) == ((t, ov) != (tile, overlap))
    x = torch.rand(2, 3, 75, 61)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = ed(x)
    assert y.shape == (2, 3, 150, 122)
    assert (y - _whole(ed, x)).abs().max() < 1e-4


def test_untiled_family_runs_whole_with_a_note() -> None:
    x = torch.rand(1, 3, 48, 64)
    ed = load(TinyNorm(), weights=False, tile=16)
    assert not ed.tiling.tileable and ed.plan(48, 64)[0] is None
    assert "cannot be tiled" in ed.notes[0]
    with pytest.warns(RuntimeWarning, match="cannot be tiled"):
        y = ed(x)
    assert torch.allclose(y, _whole(ed, x), atol=1e-6)
    assert not load(TinyNorm(), weights=False).notes  # automatic tiling: nothing to say


def test_fractional_outscale_tiled_matches_untiled() -> None:
    x = torch.rand(1, 3, 45, 38)
    tiled = load(TinyUp(), weights=False, outscale=3.5, tile=16, tile_overlap=8)
    assert tiled.plan(45, 38)[0] == 16 and tiled.scale == 2
    whole = load(TinyUp(), weights=False, outscale=3.5, tile=0)
    y, ref = tiled(x), whole(x)
    assert y.shape == ref.shape == (1, 3, round(45 * 3.5), round(38 * 3.5))
    assert 0 <= y.min() and y.max() <= 1
    assert (y - ref).abs().max() < 1e-4
    for shape, dtype in [((45, 38, 4), np.uint8), ((45, 38), np.uint16), ((45, 38, 1), np.uint8)]:
        out = tiled(_rand(shape, dtype))
        assert out.dtype == dtype and out.shape == (158, 133, *shape[2:])
    rgba = _rand((45, 38, 4), seed=5)
    rgba[..., 3] = 200
    assert np.abs(tiled(rgba)[..., 3].astype(int) - 200).max() <= 1
    assert load(TinyUp(), weights=False, outscale=0.5)(x).shape == (1, 3, 22, 19)


def test_whole_number_outscale_equal_to_scale_is_the_model_path() -> None:
    x = torch.rand(1, 3, 30, 26)
    plain = load(TinyUp(), weights=False, tile=12)
    same = load(TinyUp(), weights=False, outscale=2, tile=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


def test_named_half_precision_on_a_cpu_without_it_runs_emulated_with_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ganedit.devices.cpu_half_precisions", lambda: ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ed = load(TinyKeep(), weights=False, precision="bf16")
    assert ed.precision.name == "bf16" and ed.precision.source == "requested"
    assert any("emulated" in str(w.message) for w in caught)
    img = _rand((12, 10, 3))
    ref = load(TinyKeep(), weights=False, precision="fp32")(img)
    assert np.abs(ed(img).astype(int) - ref.astype(int)).max() <= 2


# ----------------------------------------------------------------------------------- masks
def test_mask_family_numpy_mask_follows_the_project_convention() -> None:
    ed = load(TinyInpaint(), weights=False)
    img = _rand((10, 14, 3))
    hole = np.zeros((10, 14), bool)
    hole[2:6, 4:9] = True
    out = ed(img, hole)
    assert np.array_equal(out[~hole], img[~hole]) and not np.array_equal(out[hole], img[hole])
    bright = np.where(hole, 255, 0).astype(np.uint8)
    assert np.array_equal(ed(img, bright), out)  # uint8: bright = fill
    assert np.array_equal(ed(img, np.repeat(bright[..., None], 3, 2)), out)  # any colour channel
    assert np.array_equal(ed(img, hole.astype(np.float32)), out)  # float > 0.5
    dim = np.where(hole, 100, 0).astype(np.uint8)  # nonzero but dark: not a hole
    assert np.array_equal(ed(img, dim), img)
    with pytest.raises(ValueError, match="mask"):
        ed(img)  # no mask, no alpha
    with pytest.raises(ValueError, match="does not match"):
        ed(img, hole[:5])


def test_rgba_without_mask_fills_its_transparent_pixels() -> None:
    ed = load(TinyInpaint(), weights=False)
    rgb = _rand((10, 14, 3), seed=4)
    hole = np.zeros((10, 14), bool)
    hole[3:7, 2:6] = True
    rgba = np.concatenate([rgb, np.where(hole, 0, 255).astype(np.uint8)[..., None]], axis=2)
    out = ed(rgba)
    assert out.shape == (10, 14, 3)  # opaque: the alpha was the mask
    assert np.array_equal(out, ed(rgb, hole))
    x = torch.from_numpy(rgba).permute(2, 0, 1)[None].float() / 255
    assert ed(x).shape == (1, 3, 10, 14)


def test_mask_family_tiled_equals_untiled() -> None:
    ed = load(TinyInpaint(), weights=False, tile=16, tile_overlap=4)
    whole = load(TinyInpaint(), weights=False, tile=0)
    x, m = torch.rand(1, 3, 40, 50), torch.rand(1, 1, 40, 50) > 0.7
    assert (ed.forward(x, m) - whole.forward(x, m)).abs().max() < 1e-5


# ------------------------------------------------------------------------------ GENERATE
def test_generate_family() -> None:
    ed = load(TinyGen(), weights=False)
    s = ed.sample(5, seed=1)
    assert s.shape == (5, 8, 8, 1) and s.dtype == np.uint8
    assert np.array_equal(s, ed.sample(5, seed=1)) and not np.array_equal(s, ed.sample(5, seed=2))
    z = ed.latents(3, 0)
    assert ed.generate(z).shape == (3, 1, *ed.io.image_size)
    with pytest.raises(TypeError, match="sample"):
        ed(_rand((8, 8, 3)))


def test_bad_input_types() -> None:
    ed = load(TinyKeep(), weights=False)
    with pytest.raises(TypeError, match="uint8"):
        ed(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="C in 1, 2, 3, 4"):
        ed(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(TypeError):
        load(42)


# ------------------------------------------------------------------------- out of memory
class _OOMKeep(TinyKeep):
    """Raises out-of-memory for calls over 1024 pixels (batch included), like a small GPU."""

    def predict(self, net, inputs, config):
        x = inputs["image"]
        if x.shape[0] * x.shape[-2] * x.shape[-1] > 1024:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().predict(net, inputs, config)


class _OOMNorm(TinyNorm):
    def predict(self, net, inputs, config):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")


def test_out_of_memory_halves_batch_then_tile_and_remembers_it() -> None:
    x = torch.rand(4, 3, 64, 64)
    ref = load(TinyKeep(), weights=False, tile=0)(x)
    ed = load(_OOMKeep(), weights=False, tile=0, tile_overlap=16, batch_size=4)
    assert ed.plan(64, 64) == (None, 4)
    with pytest.warns(RuntimeWarning, match="out of memory"):
        y = ed(x)
    assert (y - ref).abs().max() < 1e-5
    assert ed.plan(64, 64)[0] == 32 and ed.plan(20, 20)[0] is None  # remembered for later
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no new back-off: the remembered tile fits
        assert (ed(x) - ref).abs().max() < 1e-5


def test_out_of_memory_for_an_untiled_family_says_it_cannot_be_tiled() -> None:
    ed = load(_OOMNorm(), weights=False, batch_size=2)
    with pytest.raises(UntiledMemoryError, match="cannot be tiled"):
        ed(torch.rand(2, 3, 40, 40))


class _LiesAboutChannels(TinyKeep):
    def io(self, config):
        from ganedit.family import IOSpec

        return IOSpec(in_channels=3, out_channels=1)


def test_a_predict_that_breaks_its_io_promise_is_named() -> None:
    ed = load(_LiesAboutChannels(), weights=False)
    with pytest.raises(ValueError, match=r"predict returned shape \(1, 3, 4, 4\).*\(1, 1, 4, 4\)"):
        ed(torch.rand(1, 3, 4, 4))
