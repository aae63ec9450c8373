"""Tests of the srgan plugin (CPU, tiny networks; the default-weights tests use the bundled
x4 model on the bundled sample crops, both package data of ganedit_srgan: no skip when they are
missing, a failure)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ganedit_srgan import degradations as deg
from ganedit_srgan.evaluate import evaluate_sr, image_to_tensor, y_psnr_ssim
from ganedit_srgan.family import SRGAN, SRGANConfig
from ganedit_srgan.networks import SRGANDiscriminator, SRResNet

import ganedit
from ganedit.weights import resolve_resource

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = resolve_resource("ganedit_srgan:samples")  # wine.png, dragonfly.png, bridge-alpha.png


def tiny(**kw: object) -> SRGANConfig:
    base = dict(blocks=1, channels=8, crop_size=16, batch_size=2, d_channels=4)
    base.update(kw)
    return SRGANConfig(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ conformance
@pytest.mark.parametrize("scale", [2, 4])
def test_conformance_psnr_stage(scale: int) -> None:
    from ganedit.testing import check_family

    check_family(SRGAN, tiny(scale=scale), image_size=12)


def test_conformance_gan_stage() -> None:
    from ganedit.testing import check_family

    check_family(SRGAN, tiny(stage="gan", spectral_norm=True), only=["training", "resume"])


@pytest.mark.parametrize("scale", [2, 4])
def test_sample_grid_inputs_follow_the_config_scale(scale: int) -> None:
    """The sample grid's LR inputs are downscaled by the config's scale (x2 grids used to be
    made at x4 whenever the crop was a multiple of 4), with the HR crop as the target."""
    hr = torch.rand(5, 3, 16, 16)
    fixed = SRGAN().validation_inputs({"image": hr}, tiny(scale=scale))
    assert fixed["image"].shape == (4, 3, 16 // scale, 16 // scale)
    assert torch.equal(fixed["target"], hr[:4])


def test_train_only_fields_are_marked() -> None:
    import dataclasses

    marked = {f.name for f in dataclasses.fields(SRGANConfig) if f.metadata.get("train_only")}
    assert {"stage", "batch_size", "lr", "crop_size", "vgg_weights", "ema_decay"} <= marked
    assert not marked & {"scale", "blocks", "channels", "bicubic_skip"}


# --------------------------------------------------------------------------------- networks
@pytest.mark.parametrize("scale", [2, 4])
def test_generator_shapes(scale: int) -> None:
    g = SRResNet(scale, blocks=2, channels=8)
    x = torch.rand(3, 3, 10, 14)
    assert g(x).shape == (3, 3, 10 * scale, 14 * scale)


def test_untrained_generator_with_bicubic_skip_is_bicubic() -> None:
    g = SRResNet(4, blocks=1, channels=8)
    x = torch.rand(1, 3, 8, 8)
    want = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(g(x), want, atol=1e-6)
    g_plain = SRResNet(4, blocks=1, channels=8, bicubic_skip=False)
    assert not torch.allclose(g_plain(x), want, atol=1e-3)


def test_generator_rejects_scale_3() -> None:
    with pytest.raises(ValueError, match="scale"):
        SRResNet(3)


@pytest.mark.parametrize("sn", [False, True])
def test_discriminator_any_size(sn: bool) -> None:
    d = SRGANDiscriminator(channels=4, spectral_norm=sn)
    assert d(torch.rand(2, 3, 32, 32)).shape == (2, 1)
    assert d(torch.rand(2, 3, 40, 24)).shape == (2, 1)
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert has_bn is (not sn)


def test_build_discriminator_only_for_gan_stage() -> None:
    assert set(SRGAN().build(tiny())) == {"generator"}
    assert set(SRGAN().build(tiny(stage="gan"))) == {"generator", "discriminator"}


def test_core_outscale_with_tiling() -> None:
    ed = ganedit.load(
        SRGAN, weights=False, device="cpu", blocks=1, channels=8, outscale=3.5, tile=12
    )
    assert ed.scale == 4 and ed.outscale == 3.5
    assert ed(np.zeros((20, 20, 3), np.uint8)).shape == (70, 70, 3)


def test_default_weights_spec_follows_scale() -> None:
    assert SRGAN().default_weights(SRGANConfig()) == "ganedit_srgan:weights/srgan-x4.safetensors"
    assert SRGAN().default_weights(SRGANConfig(scale=2)).endswith("srgan-x2.safetensors")


# ----------------------------------------------------------------------------- degradations
def test_bicubic_down_up_shapes_and_range() -> None:
    hr = torch.rand(2, 3, 32, 24)
    lr = deg.bicubic_downscale(hr, 4)
    assert lr.shape == (2, 3, 8, 6) and lr.min() >= 0 and lr.max() <= 1
    up = deg.bicubic_upscale(lr, 4)
    assert up.shape == hr.shape and up.min() >= 0 and up.max() <= 1
    with pytest.raises(ValueError, match="multiple"):
        deg.bicubic_downscale(torch.rand(1, 3, 30, 32), 4)


def test_bicubic_downscale_of_constant_is_constant() -> None:
    hr = torch.full((1, 3, 16, 16), 0.25)
    assert torch.allclose(deg.bicubic_downscale(hr, 2), torch.full((1, 3, 8, 8), 0.25), atol=1e-6)


def test_optional_degradations_change_the_image_within_range() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32)
    for fn in (
        lambda t: deg.random_blur(t, 2.0),
        lambda t: deg.add_noise(t, 0.1),
        lambda t: deg.jpeg(t, 30),
    ):
        y = fn(x)
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
        assert (y - x).abs().mean() > 1e-3
    assert deg.random_blur(x, 0) is x and deg.add_noise(x, 0) is x and deg.jpeg(x, 0) is x


def test_degrade_pipeline_shapes_and_8bit() -> None:
    hr = torch.rand(2, 3, 48, 48)
    lr = deg.degrade(hr, 4, blur_sigma=1.0, noise_sigma=0.02, jpeg_quality=50)
    assert lr.shape == (2, 3, 12, 12)
    assert torch.equal(lr, deg.quantize(lr))
    plain = deg.degrade(hr, 2)
    assert torch.allclose(plain, deg.bicubic_downscale(hr, 2), atol=0.5 / 255 + 1e-6)


def test_soften_blurs_about_prob_of_the_crops_and_leaves_the_rest() -> None:
    torch.manual_seed(0)
    x = torch.rand(400, 3, 16, 16)
    y = deg.soften(x, 0.3, 2.0)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    changed = (y - x).flatten(1).abs().amax(1) > 0
    assert 0.2 < changed.float().mean() < 0.4
    # blurred crops are smoother than their sources
    tv = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().flatten(1).mean(1)  # noqa: E731
    assert bool((tv(y[changed]) <= tv(x[changed]) + 1e-6).all())
    assert float(tv(y[changed]).mean()) < 0.7 * float(tv(x[changed]).mean())
    assert deg.soften(x, 0, 2.0) is x and deg.soften(x, 0.5, 0) is x
    assert bool(((deg.soften(x, 1.0, 2.0) - x).flatten(1).abs().amax(1) > 0).all())
    with pytest.raises(ValueError, match="prob"):
        deg.soften(x, 1.5, 2.0)
    with pytest.raises(ganedit.ConfigError, match="soften_prob"):
        SRGAN().dataset({"data": [SAMPLES]}, tiny(soften_prob=1.5))


def test_training_step_with_soften_uses_the_blurred_crop_as_target() -> None:
    """With soften_prob=1 the pixel loss is measured against the blurred HR crop (both the
    target and the LR input come from it), not against the sharp crop."""
    from ganedit.engine import Engine

    fam = SRGAN()
    cfg = tiny(soften_prob=1.0, soften_sigma=3.0, lr=0.0)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    nets = engine.setup(fam.build(cfg))
    opts = fam.optimizers(nets, cfg)
    hr = torch.rand(2, 3, 16, 16)
    torch.manual_seed(1)
    step = ganedit.Step(nets, opts, cfg, engine, {})
    loss = float(fam.training_step(step, {"image": hr})["pixel"])
    torch.manual_seed(1)  # soften draws the same picks and sigmas again
    target = deg.soften(hr, 1.0, 3.0)
    with torch.no_grad():  # lr=0: the step left the generator as it was
        sr = nets["generator"](deg.degrade(target, 4))
    assert loss == pytest.approx(float(F.l1_loss(sr, target)), rel=1e-4)
    sharp = float(F.l1_loss(nets["generator"](deg.degrade(hr, 4)), hr).detach())
    assert loss < 0.8 * sharp


# ------------------------------------------------------------------------------- evaluation
def _write_pair(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate([(42, 50), (37, 33)]):
        smooth = np.kron(rng.random((6, 6, 3)), np.ones((8, 9, 1)))[:h, :w]
        img = (smooth * 0.9 + rng.random((h, w, 3)) * 0.1) * 255
        ganedit.write_image(folder / f"img{i}.png", img.round().astype(np.uint8))


def test_evaluate_tiny_untrained_equals_bicubic(tmp_path: Path) -> None:
    _write_pair(tmp_path / "hr")
    ed = ganedit.load(SRGAN, weights=False, device="cpu", blocks=1, channels=8, scale=2)
    result = SRGAN().evaluate(ed, {"data": [tmp_path / "hr"]}, {"n": None})
    rows, summary = result["rows"], result["summary"]
    assert [r["image"] for r in rows] == ["img0.png", "img1.png"]
    assert (rows[1]["width"], rows[1]["height"]) == (32, 36)  # cropped to a multiple of 2
    for r in rows:
        for k in ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic"):
            assert math.isfinite(r[k])
        # zero-initialised output conv + bicubic skip: the untrained model *is* bicubic
        assert abs(r["psnr"] - r["psnr_bicubic"]) < 0.05
    assert summary["images"] == 2 and abs(summary["psnr_gain"]) < 0.05


def test_y_psnr_identical_is_infinite_and_ssim_one() -> None:
    x = torch.rand(1, 3, 32, 32)
    p, s = y_psnr_ssim(x, x, 2)
    assert p > 80 and abs(s - 1) < 1e-4


def test_image_to_tensor_layouts() -> None:
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert image_to_tensor(rgba).shape == (1, 3, 4, 5)
    gray16 = np.full((4, 5, 1), 65535, np.uint16)
    t = image_to_tensor(gray16)
    assert t.shape == (1, 3, 4, 5) and float(t.max()) == 1.0


# -------------------------------------------------------------------------- default weights
def test_default_x4_weights_beat_bicubic_on_a_held_out_crop() -> None:
    ed = ganedit.load("srgan", device="cpu")
    assert ed.scale == 4 and ed.card.get("family") == "srgan"
    result = evaluate_sr(ed, [SAMPLES / "wine.png"], {})  # crop of a held-out (val) photo
    row = result["rows"][0]
    assert row["psnr"] > row["psnr_bicubic"] + 0.2, row
    assert row["ssim"] > row["ssim_bicubic"], row


def test_eval_cli_self_ensemble_on_a_held_out_crop() -> None:
    """``ganedit eval srgan --self-ensemble 8`` runs the 8-view average: a different result
    from the plain model's, and still well above bicubic (the figure is in the README)."""
    import json

    from click.testing import CliRunner

    from ganedit.cli import cli

    base = ["eval", "srgan", "--data", str(SAMPLES / "wine.png"), "--device", "cpu", "--json"]
    plain = CliRunner().invoke(cli, base)
    ens = CliRunner().invoke(cli, [*base, "--self-ensemble", "8"])
    assert plain.exit_code == 0 and ens.exit_code == 0, (plain.output, ens.output)
    p, e = json.loads(plain.output)["rows"][0], json.loads(ens.output)["rows"][0]
    assert p["psnr_bicubic"] == e["psnr_bicubic"] and p["psnr"] != e["psnr"]
    assert e["psnr"] > e["psnr_bicubic"] + 0.2, e
    assert "--self-ensemble" not in CliRunner().invoke(cli, ["eval", "dcgan", "--help"]).output


def test_default_weights_numpy_roundtrip_keeps_alpha() -> None:
    ed = ganedit.load("srgan", device="cpu")
    img = ganedit.read_image(SAMPLES / "bridge-alpha.png")[:40, :48]
    out = ed(img)
    assert out.shape == (160, 192, 4) and out.dtype == np.uint8
    assert abs(int(out[0, 0, 3]) - int(img[0, 0, 3])) <= 2


def test_default_x2_weights_load() -> None:
    ed = ganedit.load("srgan", device="cpu", scale=2)
    assert ed.scale == 2
    out = ed(np.zeros((8, 10, 3), np.uint8))
    assert out.shape == (16, 20, 3)


def test_cli_run_on_samples_upscales_x4_and_keeps_alpha(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganedit",
            "run",
            "srgan",
            str(SAMPLES),
            str(out),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for src in sorted(SAMPLES.glob("*.png")):
        dst = out / src.name
        assert dst.is_file(), f"missing {dst}; stdout: {proc.stdout[-500:]}"
        a, b = ganedit.read_image(src), ganedit.read_image(dst)
        assert b.shape == (a.shape[0] * 4, a.shape[1] * 4, a.shape[2])
        if a.shape[2] == 4:
            alpha_up = F.interpolate(
                torch.from_numpy(a[..., 3]).float()[None, None], scale_factor=4, mode="bicubic"
            )[0, 0].clamp(0, 255)
            assert float((torch.from_numpy(b[..., 3]).float() - alpha_up).abs().mean()) < 2.0


# ------------------------------------------------------------------------- weight export script
def test_export_weights_script_writes_fp16_card_with_heldout_and_test(tmp_path: Path) -> None:
    from ganedit.weights import load_weights, save_weights

    config = {"scale": 2, "blocks": 1, "channels": 8, "init_weights": "/elsewhere/x.safetensors"}
    net = SRGAN().build(SRGANConfig(scale=2, blocks=1, channels=8))["generator"]
    src = save_weights(
        tmp_path / "run" / "srgan.safetensors",
        net.state_dict(),
        {"family": "srgan", "config": config, "training": {"step": 7}},
    )
    _write_pair(tmp_path / "val")
    _write_pair(tmp_path / "test")
    dst = tmp_path / "assets" / "srgan-x2.safetensors"
    script = Path(__file__).resolve().parents[2] / "scripts" / "export_weights.py"
    args = [sys.executable, str(script), str(src), str(dst), "--eval", str(tmp_path / "val")]
    args += ["--test", str(tmp_path / "test"), "--note", "a note", "--wall-time", "12.34"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    state, card = load_weights(dst)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert card["config"]["init_weights"] is None  # a training-machine path is history only
    assert card["training"]["init_weights"] == "/elsewhere/x.safetensors"
    assert card["training"]["notes"] == ["a note"] and card["training"]["wall_time_s"] == 12.3
    for key, folder in (("heldout", "val"), ("test", "test")):
        assert card[key]["data"] == [str(tmp_path / folder)]
        assert card[key]["summary"]["images"] == 2
        # the untrained net is bicubic (zero last conv + bicubic skip)
        assert abs(card[key]["summary"]["psnr_gain"]) < 0.05
    assert "heldout:" in proc.stdout and "test:" in proc.stdout


def test_error_by_gradient_script_bins_cover_every_pixel(tmp_path: Path) -> None:
    """scripts/sr_error_by_gradient.py: an untrained bicubic-skip model is bicubic, so its
    report equals bicubic's, and each report's pixel and error shares sum to 1."""
    net = SRGAN().build(SRGANConfig(scale=4, blocks=1, channels=8))["generator"]
    from ganedit.weights import save_weights

    weights = save_weights(
        tmp_path / "w.safetensors",
        net.state_dict(),
        {"family": "srgan", "config": {"scale": 4, "blocks": 1, "channels": 8}},
    )
    script = ROOT / "scripts" / "sr_error_by_gradient.py"
    out = subprocess.run(
        [sys.executable, str(script), str(SAMPLES / "wine.png"), str(weights), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    bicubic, model = json.loads(out)
    assert bicubic["name"] == "bicubic" and model["name"] == str(weights)
    assert model["psnr_y"] == pytest.approx(bicubic["psnr_y"], abs=1e-3)  # untrained == bicubic
    for r in (bicubic, model):
        assert len(r["bins"]) == 4
        assert sum(b["px_share"] for b in r["bins"]) == pytest.approx(1, abs=0.03)
        assert sum(b["error_share"] for b in r["bins"]) == pytest.approx(1, abs=1e-6)
