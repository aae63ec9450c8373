"""Tests of the inpaint plugin (CPU, tiny networks, random weights unless said otherwise)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from ganedit_inpaint import compose
from ganedit_inpaint.evaluate import evaluate_inpaint, hole_psnr, hole_ssim, summarize
from ganedit_inpaint.family import Inpaint, InpaintConfig
from ganedit_inpaint.networks import FFCGenerator
from ganedit_inpaint.sheet import make_sheet

import ganedit
from ganedit.config import update_config
from ganedit.testing import check_family, plugin_imports_only_public

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "ganedit_inpaint"
TINY = {
    "width": 4, "downsamplings": 2, "blocks": 1, "crop_size": 16, "batch_size": 2,
    "d_width": 4, "d_layers": 1, "smooth_iters": 2, "ema_decay": 0.9,
}  # fmt: skip


def tiny(**kw) -> InpaintConfig:
    return update_config(InpaintConfig(), {**TINY, **kw})


def photo(h: int = 40, w: int = 48, c: int = 3, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    peak = 65535 if dtype == np.uint16 else 255
    img = rng.integers(0, peak + 1, (h, w, c), dtype=np.int64).astype(dtype)
    return img[:, :, 0] if c == 1 else img


def box_mask(h: int = 40, w: int = 48) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:22, 14:30] = True
    return m


def editor(**kw):
    return ganedit.load(Inpaint, weights=False, device="cpu", **{**TINY, **kw})


# ----------------------------------------------------------------------------- the family
def test_conformance_smooth_prefill() -> None:
    check_family(Inpaint, tiny(prefill="smooth"))


def test_conformance_lama_input_inference_checks() -> None:
    check_family(Inpaint, tiny(), only=["spec", "predict", "batch_equals_single", "save_load"])


def test_imports_only_public_api_and_registered() -> None:
    assert plugin_imports_only_public(PLUGIN) == []
    assert isinstance(ganedit.get_family("inpaint"), Inpaint)
    io = Inpaint().io(tiny(downsamplings=3))
    assert io.size_multiple == 8 and not io.tiling.tileable


def test_ffc_receptive_field_is_global() -> None:
    """A change at the top-left corner reaches the bottom-right output pixel."""
    torch.manual_seed(0)
    g = FFCGenerator(8, 2, 1, norm="none").eval()
    x = torch.rand(1, 4, 64, 64, requires_grad=True)
    g(x)[0, :, -1, -1].sum().backward()
    assert x.grad is not None and x.grad[0, :, :4, :4].abs().sum() > 0
    conv_only = FFCGenerator(8, 2, 1, ratio=0.75, norm="none").eval()
    for blk in conv_only.blocks:  # without the spectral path the corner is out of reach
        for f in (blk.a, blk.b):
            f.gg.expand.weight.data.zero_()
    x.grad = None
    conv_only(x)[0, :, -1, -1].sum().backward()
    assert x.grad[0, :, :4, :4].abs().sum() == 0


# ------------------------------------------------------------------------------ compositing
def test_dilate_and_feather_semantics() -> None:
    m = torch.zeros(1, 1, 21, 21)
    m[..., 10, 10] = 1
    d = compose.dilate(m, 2)
    assert d.sum() == 25 and d[..., 8:13, 8:13].all()
    w = compose.feather_weight(m, 3)
    assert w[0, 0, 10, 10] == 1 and w[0, 0, 10, 13] == pytest.approx(0.25)
    assert w[0, 0, 10, 14] == 0 and w[0, 0, 10, 11] == pytest.approx(0.75)
    x, fill = torch.rand(1, 3, 21, 21), torch.rand(1, 3, 21, 21)
    out = compose.composite(x, fill, m, 3)
    far = compose.dilate(m, 3)[0, 0] == 0
    assert torch.equal(out[0][:, far], x[0][:, far])
    assert torch.equal(compose.composite(x, fill, m, 0)[0][:, m[0, 0] == 0], x[0][:, m[0, 0] == 0])


@pytest.mark.parametrize("dilate,feather", [(0, 0), (3, 0), (0, 4), (2, 3)])
def test_predict_keeps_pixels_outside_dilated_feathered_hole(dilate: int, feather: int) -> None:
    ed = editor(dilate=dilate, feather=feather)
    img, hole = photo(), box_mask()
    out = ed(img, mask=hole)
    reach = compose.dilate(torch.from_numpy(hole).float()[None, None], dilate + feather)
    keep = reach[0, 0].numpy() == 0
    assert np.array_equal(out[keep], img[keep])
    grown = compose.dilate(torch.from_numpy(hole).float()[None, None], dilate)[0, 0].numpy() > 0
    assert (out[grown] != img[grown]).mean() > 0.5  # the (dilated) hole was filled


def test_crop_around_holes_for_large_images() -> None:
    """Longer than max_side: each hole is filled in its own crop with margin; far pixels keep
    their values, and no call is larger than max_side."""
    img = photo(96, 160)
    hole = np.zeros((96, 160), bool)
    hole[8:16, 8:20] = True
    hole[70:84, 130:150] = True
    boxes = compose.hole_boxes(torch.from_numpy(hole).float(), 8)
    assert sorted(boxes) == [(0, 24, 0, 28), (62, 92, 122, 158)]
    calls: list[tuple[int, ...]] = []

    def fill(x, m):
        calls.append(tuple(x.shape[-2:]))
        return torch.full_like(x, 0.5)

    x = torch.from_numpy(img).float().div(255).permute(2, 0, 1)[None]
    m = torch.from_numpy(hole).float()[None, None]
    raw = compose.fill_by_crops(fill, x, m, margin=8, multiple=4, max_side=24)
    assert len(calls) == 2 and all(max(c) <= 24 and c[0] % 4 == c[1] % 4 == 0 for c in calls)
    assert torch.all(raw[..., 8:16, 8:20] == 0.5) and torch.equal(
        raw[..., 30:60, :], x[..., 30:60, :]
    )
    ed = editor(max_side=64, crop_margin=8)
    out = ed(img, mask=hole)
    assert np.array_equal(out[~hole], img[~hole]) and (out[hole] != img[hole]).mean() > 0.5


# -------------------------------------------------------------------- runs through the core
def _write(folder: Path, name: str, img: np.ndarray) -> Path:
    path = folder / name
    ganedit.write_image(path, img)
    return path


def test_run_folder_masks_dir_keeps_format_depth_and_outside(tmp_path: Path) -> None:
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    hole = box_mask()
    _write(src, "a.png", photo())
    _write(src, "sub/b16.png", photo(dtype=np.uint16, seed=1))
    _write(src, "g.png", photo(c=1, seed=2))
    _write(src, "c.jpg", photo(seed=3))
    _write(src, "nomask.png", photo(seed=4))
    for rel in ("a.png", "sub/b16.tif", "g.jpg", "c.png"):
        _write(masks, rel, hole.astype(np.uint8) * 255)
    report = ganedit.run_folder(
        Inpaint, [src], out, weights=False, device="cpu", masks=masks, progress=False, **TINY
    )
    assert len(report.done) == 4
    assert [p.name for p, _ in report.failed] == ["nomask.png"] and report.failed[0][1]
    for rel, dtype, ndim in (("a.png", np.uint8, 3), ("sub/b16.png", np.uint16, 3),
                             ("g.png", np.uint8, 2)):  # fmt: skip
        before, after = ganedit.read_image(src / rel), ganedit.read_image(out / rel)
        assert after.dtype == dtype and after.ndim == before.ndim and before.ndim in (ndim, 3)
        assert np.array_equal(after[~hole], before[~hole]), rel  # bit for bit
    assert (out / "c.jpg").is_file() and not (out / "c.png").exists()


def test_run_folder_one_mask_file_resized_and_alpha(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _write(src, "a.png", photo())
    _write(src, "big.png", photo(80, 96, seed=1))
    mask = _write(tmp_path, "hole.png", box_mask().astype(np.uint8) * 255)
    report = ganedit.run_folder(
        Inpaint, [src], out, weights=False, device="cpu", mask=mask, progress=False, **TINY
    )
    assert len(report.done) == 2 and not report.failed
    rgba = np.dstack([photo(seed=5), np.where(box_mask(), 0, 255).astype(np.uint8)])
    _write(tmp_path / "alpha", "t.png", rgba)
    ganedit.run_folder(
        Inpaint, [tmp_path / "alpha"], tmp_path / "o2", weights=False, device="cpu",
        progress=False, **TINY,
    )  # fmt: skip
    res = ganedit.read_image(tmp_path / "o2" / "t.png")
    assert res.shape[2] == 3 and np.array_equal(res[~box_mask()], rgba[..., :3][~box_mask()])


def test_bundled_weights_load_and_keep_every_pixel_outside_the_hole() -> None:
    """The shipped fp16 weights: found without ``weights=``, the card holds the held-out test
    figures, the fill differs from the input only inside the hole, and it is no worse there
    than the input's mean colour (a filled, not a blanked, hole)."""
    assert (
        Inpaint().default_weights(InpaintConfig()) == "ganedit_inpaint:weights/inpaint.safetensors"
    )
    ed = ganedit.load("inpaint", device="cpu")
    assert ed.card["dtype"] == "float16" and ed.config.prefill == "smooth"
    summary = ed.card["test"]["summary"]
    assert summary["outside_changed"] == 0 and summary["medium_gain_db"] > 0
    yy, xx = np.mgrid[0:64, 0:64].astype(float)
    ramp = np.stack([2 * xx + 40, 3 * yy + 20, xx + yy + 30], -1)
    img, hole = ramp.clip(0, 255).astype(np.uint8), box_mask(64, 64)
    out = ed(img, mask=hole)
    assert np.array_equal(out[~hole], img[~hole])
    err = np.abs(out[hole].astype(float) - img[hole]).mean()
    flat = np.abs(img[~hole].mean(0) - img[hole].astype(float)).mean()
    assert err < flat


def test_smooth_fill_keeps_known_pixels_and_interpolates() -> None:
    x = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 3, 24, 32).contiguous()
    m = torch.zeros(1, 1, 24, 32)
    m[..., 6:18, 10:22] = 1
    y = compose.smooth_fill(x, m, 16)
    assert torch.equal(y[..., m[0, 0] == 0], x[..., m[0, 0] == 0])
    assert (y - x).abs().max() < 0.05  # a linear ramp is (nearly) harmonic: recovered
    start = ganedit.load(Inpaint, weights=False, device="cpu", **{**TINY, "prefill": "smooth"})
    t = torch.rand(1, 3, 24, 32)
    assert torch.allclose(start(t, mask=m), compose.smooth_fill(t, m, 2), atol=1e-6)  # zero head


# ----------------------------------------------------------------------------- training data
def test_generated_and_file_masks_training_data(tmp_path: Path) -> None:
    cfg = tiny(crop_size=32, batch_size=4)
    data = Inpaint().example_data(tmp_path / "ex", cfg)
    td = Inpaint().dataset(data, cfg)
    td.setup("cpu", seed=0)
    batch = td.next_batch(4)
    assert batch["image"].shape == (4, 3, 32, 32) and batch["mask"].shape == (4, 1, 32, 32)
    assert set(batch["mask"].unique().tolist()) <= {0.0, 1.0} and 0 < batch["mask"].mean() < 0.6
    for i in range(4):
        ganedit.write_image(tmp_path / "m" / f"{i}.png", np.full((64, 64), 255 * (i % 2), np.uint8))
    paired = Inpaint().dataset({"image": [data["data"][0]], "mask": [tmp_path / "m"]}, cfg)
    paired.setup("cpu", seed=0)
    assert paired.next_batch(2)["mask"].shape == (2, 1, 32, 32)


# ------------------------------------------------------------------------------ evaluation
def test_hole_metrics_on_a_constructed_case() -> None:
    ref = np.full((20, 20, 3), 100, np.uint8)
    out = ref.copy()
    hole = np.zeros((20, 20), bool)
    hole[5:10, 5:10] = True
    out[hole] = 110  # error 10/255 inside, none outside
    out[0, 0] = 0  # outside the hole: ignored
    assert hole_psnr(out, ref, hole) == pytest.approx(20 * np.log10(255 / 10), abs=1e-9)
    assert hole_psnr(ref, ref, hole) == pytest.approx(100.0)
    assert hole_ssim(ref, ref, hole) == pytest.approx(1.0, abs=1e-6)


def test_evaluate_rows_and_baselines(tmp_path: Path) -> None:
    for i in range(2):
        _write(tmp_path / "d", f"{i}.png", photo(48, 64, seed=i))
    ed = editor(eval_masks="thin,thick", eval_size=32, eval_sheets=str(tmp_path / "sheets"))
    result = evaluate_inpaint(ed, {"data": [tmp_path / "d"]}, {"n": None, "seed": 0})
    rows, summary = result["rows"], result["summary"]
    assert [(r["masks"], r["image"]) for r in rows] == [
        ("thin", "0.png"), ("thin", "1.png"), ("thick", "0.png"), ("thick", "1.png")
    ]  # fmt: skip
    for col in ("model_psnr", "telea_psnr", "ns_psnr", "smooth_psnr", "model_ssim", "ns_ssim",
                "model_edge_f1", "telea_edge_f1"):  # fmt: skip
        assert all(np.isfinite(r[col]) for r in rows)
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == ["thick.png", "thin.png"]
    assert summary["outside_changed"] == 0 and "thick_gain_db" in summary
    again = evaluate_inpaint(ed, {"data": [tmp_path / "d"]}, {"n": 1, "seed": 0})
    assert again["rows"][0]["hole_pct"] == rows[0]["hole_pct"]
    assert summarize(rows) == summary


def test_eval_cli_json(tmp_path: Path) -> None:
    _write(tmp_path / "d", "0.png", photo(48, 64))
    w = tmp_path / "w.safetensors"
    ganedit.save_weights(
        w, {f"generator.{k}": v for k, v in editor().generator.state_dict().items()},
        {"family": "inpaint", "config": asdict(tiny()), "generators": ["generator"]},
    )  # fmt: skip
    from ganedit.cli import cli

    args = ["eval", "inpaint", "--data", str(tmp_path / "d"), "--weights", str(w), "--json",
            "--device", "cpu", "--eval-masks", "medium", "--eval-size", "32",
            "--eval-sheets", str(tmp_path / "sheets")]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["rows"][0]["masks"] == "medium" and "medium_gain_db" in out["summary"]
    assert "medium_model_edge_f1" in out["summary"] and "medium_ns_energy" in out["summary"]
    assert (tmp_path / "sheets" / "medium.png").is_file()


def test_eval_settings_are_options_of_eval_only() -> None:
    """eval_masks / eval_size / eval_sheets are eval_only: ``ganedit eval inpaint`` has them,
    ``run`` and ``train`` do not (and reject them)."""
    from ganedit.cli import cli

    flags = ("--eval-masks", "--eval-size", "--eval-sheets")
    helps = {c: CliRunner().invoke(cli, [c, "inpaint", "--help"]) for c in ("run", "train", "eval")}
    assert all(r.exit_code == 0 for r in helps.values())
    assert all(f in helps["eval"].output for f in flags)
    for command in ("run", "train"):
        assert not [f for f in flags if f in helps[command].output], command
        assert "--dilate" in helps[command].output  # a normal field stays
    res = CliRunner().invoke(cli, ["run", "inpaint", "in", "out", "--eval-size", "32"])
    assert res.exit_code == 2 and "No such option '--eval-size'" in res.output


# ------------------------------------------------------------------------------------ sheet
def test_sheet_command(tmp_path: Path) -> None:
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    for i in range(2):
        _write(src, f"{i}.png", photo(seed=i))
        _write(masks, f"{i}.png", box_mask().astype(np.uint8) * 255)
    ganedit.run_folder(
        Inpaint, [src], out, weights=False, device="cpu", masks=masks, progress=False, **TINY
    )
    path, rows = make_sheet(src, masks, out, tmp_path / "sheet.png", height=40)
    sheet = ganedit.read_image(path)
    assert rows == 2 and sheet.shape == (2 * 44, 3 * 48 + 8, 3)
    assert (sheet[:40, 48 + 4 : 96 + 4][box_mask()] == 255).all()  # the mask panel
    from ganedit.cli import cli

    res = CliRunner().invoke(
        cli, ["inpaint-sheet", str(src), str(masks), str(out), str(tmp_path / "s.jpg")]
    )
    assert res.exit_code == 0, res.output
    assert "2 rows" in res.output and (tmp_path / "s.jpg").is_file()


def test_head_scale_initialises_the_residual_head() -> None:
    """``head_scale`` 0 (the default) zeroes the residual head; another value scales its
    kaiming init (the bias stays 0); the non-residual LaMa head is untouched by it."""
    zero = Inpaint().build_generator("generator", tiny(prefill="smooth"))
    assert float(zero.decoder[-2].weight.abs().max()) == 0
    torch.manual_seed(0)
    ref = Inpaint().build_generator("generator", tiny(prefill="smooth", head_scale=1.0))
    torch.manual_seed(0)
    small = Inpaint().build_generator("generator", tiny(prefill="smooth", head_scale=0.1))
    w_ref, w_small = ref.decoder[-2].weight, small.decoder[-2].weight
    assert float(w_ref.abs().max()) > 0 and torch.allclose(w_small, 0.1 * w_ref)
