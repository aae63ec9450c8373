"""Issue 21 ("inpainting that paints"): the gated residual, the hole losses that do not
regress to a blur, the training monitor and the eval's structure columns and sheets (CPU,
tiny networks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ganedit_inpaint import compose
from ganedit_inpaint.evaluate import evaluate_inpaint
from ganedit_inpaint.family import Inpaint, InpaintConfig
from ganedit_inpaint.fill import fill_and_base
from ganedit_inpaint.losses import (
    gradient_magnitude,
    local_spectrum_loss,
    lowpass_l1,
    masked_l1,
    texture_energy_loss,
)
from ganedit_inpaint.monitor import batch_monitor, monitor_crops

import ganedit
from ganedit.config import update_config

GATED = {
    "width": 4, "downsamplings": 2, "blocks": 1, "crop_size": 16, "batch_size": 2,
    "d_width": 4, "d_layers": 1, "smooth_iters": 2, "ema_decay": 0.9, "norm": "none",
    "gate": True, "prefill": "smooth", "l1_known_weight": 0.0,
}  # fmt: skip


def gated(**kw: object) -> InpaintConfig:
    return update_config(InpaintConfig(), {**GATED, **kw})


def _bars(h: int = 32, w: int = 32, shift: int = 0) -> torch.Tensor:
    """(1, 3, H, W) vertical bars 4 px wide, 0.2 / 0.8."""
    x = ((torch.arange(w) + shift) // 4 % 2).float() * 0.6 + 0.2
    return x.view(1, 1, 1, w).expand(1, 3, h, w).contiguous()


def test_the_gate_starts_at_the_prefill_and_opens_slowly() -> None:
    """Output = pre-fill at initialisation; one Adam step at lr 1e-3 moves it by well under
    0.01 (the zero-head recipe jumped by 0.17-0.35), and from the third step on every layer
    gets gradient (the output gate opens at step 1, the block gates at step 2)."""
    cfg = gated()
    torch.manual_seed(0)
    g = Inpaint().build_generator("generator", cfg)
    x, m = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    raw, base = fill_and_base(g, x, m, cfg)
    assert torch.equal(raw, base.clamp(0, 1))
    opt = torch.optim.Adam(g.parameters(), lr=1e-3)
    for step in range(3):
        opt.zero_grad()
        raw, _ = fill_and_base(g, x, m, cfg)
        masked_l1(raw, 1 - x, m).backward()  # any target: something to move towards
        if step == 0:
            assert g.out_gate is not None and float(g.out_gate.grad.abs()) > 0
            assert float(g.decoder[-2].weight.grad.abs().max()) == 0  # behind the closed gate
        elif step == 2:
            assert all(p.grad is not None and float(p.grad.abs().max()) > 0
                       for p in g.parameters())  # fmt: skip
        opt.step()
    raw, base = fill_and_base(g, x, m, cfg)
    change = float((raw - base).detach().abs().max())
    assert 0 < change < 0.03


def test_lowpass_l1_ignores_detail_and_sees_colour() -> None:
    x, hole = _bars(), torch.ones(1, 1, 32, 32)
    mean = x.mean((2, 3), keepdim=True).expand_as(x)
    assert float(lowpass_l1(mean, x, hole, factor=8)) < 1e-6  # detail lost: no cost
    assert float(masked_l1(mean, x, hole)) > 0.25  # per-pixel L1: the blur's cost
    assert float(lowpass_l1(x + 0.1, x, hole, factor=8)) == pytest.approx(0.1, abs=1e-6)
    empty = torch.zeros(1, 1, 32, 32)
    assert float(lowpass_l1(mean, x, empty)) == 0.0


def test_texture_energy_rewards_detail_not_its_position() -> None:
    """Bars in anti-phase (every pixel wrong) cost little; a blur of the right colour costs
    a lot; per-pixel L1 says the opposite (it prefers the blur)."""
    x, hole = _bars(64, 64), torch.zeros(1, 1, 64, 64)
    hole[..., 16:48, 16:48] = 1
    shifted = x * (1 - hole) + _bars(64, 64, shift=4) * hole
    blur = x * (1 - hole) + F.avg_pool2d(x, 9, 1, 4, count_include_pad=False) * hole
    tex_shift = float(texture_energy_loss(shifted, x, hole))
    tex_blur = float(texture_energy_loss(blur, x, hole))
    assert tex_blur > 3 * tex_shift
    assert float(masked_l1(shifted, x, hole)) > float(masked_l1(blur, x, hole))
    assert float(texture_energy_loss(x, x, hole)) == 0.0
    step = torch.zeros(1, 1, 8, 8)
    step[..., 4:] = 1
    assert float(gradient_magnitude(step)[0, 0, 4, 3]) == pytest.approx(0.5, abs=1e-4)


def test_training_step_reports_the_monitor_and_only_weighted_terms(tmp_path: Path) -> None:
    fam, cfg = Inpaint(), gated(l1_hole_weight=0.0, fft_weight=0.0)
    data = fam.example_data(tmp_path / "ex", cfg)
    td = fam.dataset(data, cfg)
    td.setup("cpu", seed=0)
    nets = fam.build(cfg)
    engine = ganedit.Engine("cpu", "fp32", seed=0)
    nets = engine.setup(nets, fam.generators)
    opts = fam.optimizers(nets, cfg)
    batch = td.next_batch(2)
    out = fam.training_step(ganedit.Step(nets, opts, cfg, engine, {}, 0), batch)
    assert {"lowpass", "texture", "adv", "fm", "d", "g"} <= set(out)
    assert not {"l1_hole", "l1_known", "fft"} & set(out)
    for k in ("mon_change", "mon_l1_gain", "mon_energy", "mon_energy_base"):
        assert torch.isfinite(out[k])
    x, m = batch["image"], batch["mask"]
    base = compose.smooth_fill(x, m, 2)
    mon = batch_monitor(x, m, base, base)  # the pre-fill against itself
    assert float(mon["mon_change"]) == 0 and float(mon["mon_l1_gain"]) == 0
    assert float(mon["mon_energy"]) == pytest.approx(float(mon["mon_energy_base"]))


def test_the_monitor_writes_val_rows_during_training(tmp_path: Path) -> None:
    fam, cfg = Inpaint(), gated()
    data = fam.example_data(tmp_path / "ex", cfg)
    x, m = monitor_crops(data["data"][0], 16)
    assert x.shape == (8, 3, 16, 16) and m.shape == (8, 1, 16, 16)
    assert 0 < float(m.mean()) < 1
    overrides = [f"{k}={v}" for k, v in GATED.items()]
    overrides += [f"monitor_data={data['data'][0]}", "monitor_every=1"]
    ganedit.train(
        "inpaint", {"data": data["data"]}, tmp_path / "run", steps=2, overrides=overrides,
        device="cpu", progress=False, sample_every=0, checkpoint_every=0,
    )  # fmt: skip
    rows = [json.loads(t) for t in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if "val_gain_db" in r]
    assert [r["step"] for r in val] == [1, 2]
    assert all(np.isfinite(r[k]) for r in val for k in ("val_change", "val_energy"))


def test_eval_reports_structure_columns_and_writes_sheets(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(2):
        img = np.kron(rng.integers(0, 256, (6, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
        ganedit.write_image(tmp_path / "d" / f"{i}.png", img)
    ed = ganedit.load(
        Inpaint, weights=False, device="cpu", **{**GATED, "eval_masks": "thick",
        "eval_size": 64, "eval_sheets": str(tmp_path / "sheets")},
    )  # fmt: skip
    result = evaluate_inpaint(ed, {"data": [tmp_path / "d"]}, {"n": None, "seed": 0})
    s = result["summary"]
    for method in ("model", "telea", "ns", "smooth"):
        assert 0 <= s[f"thick_{method}_edge_f1"] <= 1 and s[f"thick_{method}_energy"] >= 0
    # the untrained gated model is its pre-fill, exactly
    assert s["thick_model_energy"] == pytest.approx(s["thick_smooth_energy"], abs=0.02)
    sheet = ganedit.read_image(tmp_path / "sheets" / "thick.png")
    assert sheet.shape == (2 * (192 + 4), 4 * 256 + 3 * 4, 3)


def test_without_the_output_gate_the_head_starts_small_and_learns_at_once() -> None:
    """The bundled recipe: block gates only, the head at ``head_scale`` x kaiming."""
    cfg = gated(output_gate=False, head_scale=0.03)
    torch.manual_seed(0)
    g = Inpaint().build_generator("generator", cfg)
    assert g.out_gate is None
    x, m = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    raw, base = fill_and_base(g, x, m, cfg)
    change = (raw - base).detach().abs()
    assert 0 < float(change.max()) < 0.05 and float(change[m.expand_as(change) == 0].max()) > 0
    masked_l1(raw, 1 - x, m).backward()
    assert float(g.decoder[-2].weight.grad.abs().max()) > 0


def test_strength_scales_the_correction() -> None:
    torch.manual_seed(0)
    cfg = gated(output_gate=False, head_scale=1.0)
    g = Inpaint().build_generator("generator", cfg).eval()
    for block in g.blocks:
        torch.nn.init.constant_(block.gate, 0.5)
    x, m = torch.rand(1, 3, 16, 16) * 0.5 + 0.25, torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    with torch.no_grad():
        full, base = fill_and_base(g, x, m, cfg)
        half, _ = fill_and_base(g, x, m, gated(output_gate=False, head_scale=1.0, strength=0.5))
        none, _ = fill_and_base(g, x, m, gated(output_gate=False, head_scale=1.0, strength=0.0))
    assert torch.equal(none, base.clamp(0, 1)) and float((full - base).abs().max()) > 0.01
    inside = (full > 0) & (full < 1)  # not clamped
    assert torch.allclose((half - base)[inside], 0.5 * (full - base)[inside], atol=1e-6)


def test_a_gray_photo_gets_a_gray_fill_and_a_colour_photo_keeps_its_colours() -> None:
    gray = torch.rand(1, 1, 16, 16).expand(1, 3, 16, 16)
    colour = torch.rand(1, 3, 16, 16)
    x, fill = torch.cat([gray, colour]), torch.rand(2, 3, 16, 16)
    m = torch.zeros(2, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    x_in = x.clone()
    x_in[:, 0:1][m.bool()] = 0.9  # the hole's own pixels (colour or not) do not count
    out = compose.composite(x_in, fill, m)
    hole = m[0, 0].bool()
    assert torch.allclose(out[0, 0][hole], out[0, 1][hole]) and torch.equal(
        out[0][:, ~hole], x[0][:, ~hole]
    )
    assert torch.allclose(out[0, 0][hole], fill[0].mean(0)[hole])
    assert torch.equal(out[1][:, hole], fill[1][:, hole])  # colour: the fill as painted
    one_level = gray.clone()
    one_level[:, 2, 0, 0] += 2 / 255  # one pixel two levels off gray: a colour image
    got = compose.gray_where_gray(one_level, fill[:1], m[:1])
    assert torch.equal(got, fill[:1])


@pytest.mark.parametrize("upsample", ["transposed", "resize", "shuffle"])
def test_every_decoder_gives_the_shape_and_learns(upsample: str) -> None:
    cfg = gated(output_gate=False, head_scale=1.0, upsample=upsample)
    torch.manual_seed(0)
    g = Inpaint().build_generator("generator", cfg)
    kinds = {type(m).__name__ for m in g.decoder}
    assert ("ConvTranspose2d" in kinds) == (upsample == "transposed")
    assert ("Upsample" in kinds) == (upsample == "resize")
    assert ("ShuffleUp" in kinds) == (upsample == "shuffle")
    x, m = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    raw, base = fill_and_base(g, x, m, cfg)
    assert raw.shape == (2, 3, 16, 16) and float((raw - base).detach().abs().max()) > 0
    masked_l1(raw, 1 - x, m).backward()
    assert all(p.grad is not None for p in g.decoder.parameters())
    with pytest.raises(ValueError, match="upsample"):
        Inpaint().build_generator("generator", gated(upsample="bilinear"))


def test_the_shuffle_decoder_starts_as_nearest_upsampling_after_the_family_init() -> None:
    """ICNR survives the family's kaiming init: every 2x2 output block of a fresh level is
    constant (nearest x2 of a convolution: no checkerboard), and training may break that."""
    from ganedit_inpaint.networks import ShuffleUp

    torch.manual_seed(0)
    g = Inpaint().build_generator("generator", gated(upsample="shuffle", head_scale=1.0))
    levels = [m for m in g.decoder if isinstance(m, ShuffleUp)]
    assert len(levels) == 2
    for up in levels:
        y = up(torch.randn(1, up.conv.in_channels, 6, 5))
        assert y.shape == (1, up.conv.out_channels // 4, 12, 10)
        for dy, dx in ((0, 1), (1, 0), (1, 1)):
            assert torch.allclose(y[..., dy::2, dx::2], y[..., 0::2, 0::2])
    with torch.no_grad():
        levels[0].conv.weight[1].add_(1.0)  # a trained level may give each sub-pixel its own
    y = levels[0](torch.randn(1, levels[0].conv.in_channels, 6, 5))
    assert not torch.allclose(y[..., 0::2, 1::2], y[..., 0::2, 0::2])


def test_the_noise_channel_is_seeded_at_inference_and_random_in_training() -> None:
    """noise > 0: a fifth input channel, noise only in the hole; eval mode gives the same
    fill twice (and another fill for another noise_seed), training mode draws afresh."""
    from ganedit_inpaint.fill import noise_input

    cfg = gated(noise=1.0, head_scale=1.0, upsample="shuffle", output_gate=False)
    torch.manual_seed(0)
    g = Inpaint().build_generator("generator", cfg)
    assert g.encoder[0].in_channels == 5
    plain = Inpaint().build_generator("generator", gated(head_scale=1.0))
    assert (
        plain.encoder[0].in_channels == 4
        and noise_input(plain, torch.ones(1, 1, 4, 4), gated()) == []
    )
    x, m = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    (z,) = noise_input(g, m, cfg)
    assert float(z[m == 0].abs().max()) == 0 and float(z[m == 1].std()) > 0.5
    g.eval()
    with torch.no_grad():
        a, b = fill_and_base(g, x, m, cfg)[0], fill_and_base(g, x, m, cfg)[0]
        other = fill_and_base(g, x, m, gated(noise=1.0, noise_seed=1, output_gate=False))[0]
    assert torch.equal(a, b) and not torch.equal(a, other)
    g.train()
    with torch.no_grad():
        c, d = fill_and_base(g, x, m, cfg)[0], fill_and_base(g, x, m, cfg)[0]
    assert not torch.equal(c, d)


def test_decoder_noise_is_relative_seeded_and_keeps_the_weights_layout() -> None:
    """decoder_noise > 0: noise after each decoder level, relative to the map's RMS; no
    parameters and the same state_dict keys (a run without it resumes with it); eval mode
    gives one fill per noise_seed, training mode draws afresh."""
    from ganedit_inpaint.networks import DecoderNoise

    x = torch.full((2, 3, 8, 8), 4.0)
    x[1] *= 100
    level = DecoderNoise(0.5, seed=3).eval()
    d = level(x) - x
    assert float((d[0].std() - 2.0).abs()) < 0.3 and float((d[1].std() - 200.0).abs()) < 30
    assert torch.equal(level(x), level(x)) and not torch.equal(level(x), DecoderNoise(0.5, 4)(x))
    assert not list(level.parameters()) and not torch.equal(level.train()(x), level(x))

    kw = {"head_scale": 1.0, "output_gate": False}
    torch.manual_seed(0)
    plain = Inpaint().build_generator("generator", gated(**kw))
    noisy = Inpaint().build_generator("generator", gated(decoder_noise=0.3, **kw))
    assert plain.state_dict().keys() == noisy.state_dict().keys()
    assert len(noisy.noise_at) == 2 and not plain.noise_at  # one per decoder level
    noisy.load_state_dict(plain.state_dict())
    img, m = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    plain.eval(), noisy.eval()
    with torch.no_grad():
        a = fill_and_base(noisy, img, m, gated(decoder_noise=0.3, **kw))[0]
        b = fill_and_base(noisy, img, m, gated(decoder_noise=0.3, **kw))[0]
        clean = fill_and_base(plain, img, m, gated(**kw))[0]
    assert torch.equal(a, b) and not torch.equal(a, clean)
    noisy.train()
    with torch.no_grad():
        c = fill_and_base(noisy, img, m, gated(decoder_noise=0.3, **kw))[0]
    assert not torch.equal(a, c)


def test_conformance_with_decoder_noise() -> None:
    """Training (with the local spectrum loss), exact resume (the noise comes from the
    checkpointed RNG), seeded inference."""
    from ganedit.testing import check_family

    cfg = gated(decoder_noise=0.3, spectrum_weight=10.0, head_scale=1.0, output_gate=False)
    check_family(Inpaint, cfg)


def test_conformance_with_the_noise_channel() -> None:
    """The input noise channel too: seeded inference gives an item the same fill in a batch."""
    from ganedit.testing import check_family

    check_family(Inpaint, gated(noise=1.0, head_scale=1.0, output_gate=False))


def test_local_spectrum_ranks_real_texture_over_a_lattice_over_a_blur() -> None:
    """The same texture moved (another phase) costs least, an 8 px lattice of the same
    energy more, a blur most; brightness and differences outside the hole cost nothing."""
    torch.manual_seed(0)
    tex = F.avg_pool2d(torch.rand(1, 3, 64, 64), 3, 1, 1)  # a stationary texture
    hole = torch.ones(1, 1, 64, 64)
    dots = torch.zeros(1, 1, 64, 64)
    dots[..., ::8, ::8] = 1
    dots = F.avg_pool2d(dots, 3, 1, 1)
    lattice = (tex.mean() + (dots - dots.mean()) * (tex.std() / dots.std())).expand_as(tex)

    def cost(y: torch.Tensor, region: torch.Tensor = hole) -> float:
        return float(local_spectrum_loss(y, tex, region))

    assert cost(tex) == 0.0 and cost(tex + 0.2) < 1e-6
    moved, blur = cost(torch.roll(tex, (3, 5), (2, 3))), cost(F.avg_pool2d(tex, 7, 1, 3))
    assert moved < 0.9 * cost(lattice) and cost(lattice) < 0.9 * blur
    left = torch.zeros(1, 1, 64, 64)
    left[..., :24] = 1  # windows wholly right of column 24 hold no hole
    other = tex.clone()
    other[..., 40:] = 0.5
    assert cost(other, left) == 0.0 < cost(other)


def test_binomial_blur_keeps_constants_and_removes_the_checkerboard() -> None:
    """The decoder blur: a constant map passes exactly, every period-2 pattern (the
    transposed levels' checkerboard) becomes its mean, a ramp passes, no parameters and
    nothing in the state dict."""
    from ganedit_inpaint.networks import BinomialBlur

    blur = BinomialBlur()
    const = torch.full((1, 2, 8, 8), 3.0)
    assert torch.allclose(blur(const), const)
    yy, xx = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    for pattern in ((yy + xx) % 2, xx % 2, yy % 2):
        checker = 1.0 + pattern.float()[None, None]
        out = blur(checker)[..., 1:-1, 1:-1]  # reflected borders aside
        assert torch.allclose(out, torch.full_like(out, 1.5))
    ramp = xx.float()[None, None]
    assert torch.allclose(blur(ramp)[..., 1:-1, 1:-1], ramp[..., 1:-1, 1:-1])
    assert not list(blur.parameters()) and not blur.state_dict()
    assert blur(const.bfloat16()).dtype == torch.bfloat16


def test_decoder_blur_keeps_the_weights_layout_and_smooths_the_levels() -> None:
    """decoder_blur: one blur per decoder level, the same state_dict keys (a run without it
    resumes with it), and a different fill from the same weights."""
    kw = {"head_scale": 1.0, "output_gate": False}
    torch.manual_seed(0)
    plain = Inpaint().build_generator("generator", gated(**kw))
    blurred = Inpaint().build_generator("generator", gated(decoder_blur=True, **kw))
    assert plain.state_dict().keys() == blurred.state_dict().keys()
    assert len(blurred.blur_at) == 2 and not plain.blur_at
    blurred.load_state_dict(plain.state_dict())
    img, m = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    plain.eval(), blurred.eval()
    with torch.no_grad():
        a = fill_and_base(blurred, img, m, gated(decoder_blur=True, **kw))[0]
        b = fill_and_base(plain, img, m, gated(**kw))[0]
    assert not torch.equal(a, b)
    blurs = {"decoder_blur": True, "bottleneck_blur": True}
    both = Inpaint().build_generator("generator", gated(**blurs, **kw))
    assert both.state_dict().keys() == plain.state_dict().keys() and both.bottleneck_blur
    assert plain.bottleneck_blur is None and blurred.bottleneck_blur is None
    both.load_state_dict(plain.state_dict())
    with torch.no_grad():
        c = fill_and_base(both.eval(), img, m, gated(**blurs, **kw))
    assert not torch.equal(c[0], a)


def test_conformance_with_decoder_blur_and_noise() -> None:
    """Training, exact resume and seeded inference with the blur before the noise."""
    from ganedit.testing import check_family

    blurs = {"decoder_blur": True, "bottleneck_blur": True}
    cfg = gated(decoder_noise=0.3, head_scale=1.0, output_gate=False, **blurs)
    check_family(Inpaint, cfg)
