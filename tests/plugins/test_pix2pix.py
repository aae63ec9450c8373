"""Tests of the pix2pix family and the ``ganedit edges`` command (CPU, tiny networks). The
bundled-weights test runs on the first 300 test pairs, made from the checked-in Fashion-MNIST
fixture (``fashion_edges_test``, tests/plugins/conftest.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from ganedit_translate.edges import edge_map, write_edge_maps
from ganedit_translate.evaluate import evaluate_pix2pix, structure_kept
from ganedit_translate.pix2pix import Pix2Pix, Pix2PixConfig
from imagefiles import random_image, write_test_image
from translate_kit import TINY_TRAINING, WEIGHTS_DIR, check_odd_sizes, tiny_config

import ganedit
from ganedit.cli import cli
from ganedit.data import DatasetError
from ganedit.testing import check_family, plugin_imports_only_public

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "ganedit_translate"
WEIGHTS = WEIGHTS_DIR / "pix2pix-fashion-edges.safetensors"

TINY = {"in_channels": 1, "out_channels": 1, "depth": 2, "width": 4, **TINY_TRAINING}


def tiny(**kw) -> Pix2PixConfig:
    return tiny_config(Pix2PixConfig, TINY, **kw)


# ----------------------------------------------------------------------------- the family
def test_conformance() -> None:
    check_family(Pix2Pix, tiny())


def test_conformance_rgb_l1_only() -> None:
    cfg = tiny(in_channels=3, out_channels=3, gan_weight=0.0)
    assert set(Pix2Pix().build(cfg)) == {"generator"}  # no discriminator for L1-only
    check_family(Pix2Pix, cfg, only=["training"])


def test_imports_only_public_api() -> None:
    assert plugin_imports_only_public(PLUGIN) == []


def test_registered_with_paper_defaults() -> None:
    fam = ganedit.get_family("pix2pix")
    assert isinstance(fam, Pix2Pix)
    c = Pix2PixConfig()
    assert (c.depth, c.width, c.norm, c.dropout, c.gan_loss) == (8, 64, "batch", True, "bce")
    assert (c.l1_weight, c.lr, c.betas, c.load_size, c.crop_size) == (
        100.0,
        2e-4,
        (0.5, 0.999),
        286,
        256,
    )
    io = fam.io(c)
    assert io.size_multiple == 256 and not io.tiling.tileable
    nets = fam.build(c)
    assert nets["discriminator"].model[0].in_channels == 6  # cat(input, output)


def test_eval_mode_deterministic_and_test_dropout() -> None:
    fam, cfg = Pix2Pix(), tiny(depth=5)
    net = fam.build_generator("generator", cfg).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(fam.predict(net, {"image": x}, cfg), fam.predict(net, {"image": x}, cfg))
        noisy = tiny(depth=5, test_dropout=True)
        a, b = fam.predict(net, {"image": x}, noisy), fam.predict(net, {"image": x}, noisy)
    assert not torch.equal(a, b)


def _pairs(folder: Path, n: int = 3, side: int = 20) -> tuple[Path, Path]:
    for i in range(n):
        write_test_image(folder / "a" / f"{i}.png", random_image(side, side, 1, seed=i))
        write_test_image(folder / "b" / f"{i}.png", random_image(side, side, 1, seed=10 + i))
    return folder / "a", folder / "b"


def test_dataset_layouts_and_errors(tmp_path: Path) -> None:
    fam, cfg = Pix2Pix(), tiny()
    a, b = _pairs(tmp_path)
    data = fam.dataset({"a": [a], "b": [b]}, cfg)
    assert len(data) == 3
    with pytest.raises(DatasetError, match="b=DIR is missing"):
        fam.dataset({"a": [a]}, cfg)
    with pytest.raises(DatasetError, match="either"):
        fam.dataset({"data": [a], "a": [a], "b": [b]}, cfg)
    write_test_image(tmp_path / "a" / "lonely.png", random_image(20, 20, 1))
    with pytest.raises(DatasetError, match="lonely"):
        fam.dataset({"a": [a], "b": [b]}, cfg)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty"):
        fam.dataset({"data": [tmp_path / "empty"]}, cfg)
    with pytest.raises(DatasetError, match="multiple of 2\\*\\*depth"):
        fam.dataset({"a": [a], "b": [b]}, tiny(crop_size=18))


def test_side_by_side_direction(tmp_path: Path) -> None:
    left = np.full((16, 16, 1), 10, np.uint8)
    right = np.full((16, 16, 1), 200, np.uint8)
    ganedit.write_image(tmp_path / "p.png", np.concatenate([left, right], 1))
    for direction, first in (("AtoB", 10), ("BtoA", 200)):
        cfg = tiny(direction=direction, load_size=16, crop_size=16, flip=False)
        data = Pix2Pix().dataset({"data": [tmp_path]}, cfg)
        data.setup("cpu")
        batch = data.preview(1)
        assert float(batch["input"].mean()) == pytest.approx(first / 255, abs=1e-3)


# --------------------------------------------------------------------------- inference
def test_run_folder_layouts_odd_sizes(tmp_path: Path) -> None:
    """Untrained tiny weights, padded to 2**depth and cropped back."""
    check_odd_sizes(Pix2Pix, tmp_path, weights=False, **TINY)


# ------------------------------------------------------------------------------ edges
def test_edge_map_layouts() -> None:
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 8:20] = 220
    e = edge_map(img)
    assert e.shape == (64, 64) and e.dtype == np.uint8 and set(np.unique(e)) == {0, 255}
    rgba = np.repeat(img[..., None], 4, -1)
    assert np.array_equal(edge_map(rgba), e)
    deep = (img.astype(np.uint16) * 257)[..., None]
    assert np.array_equal(edge_map(deep), e)
    assert edge_map(img, size=None).shape == (28, 28)


def test_edges_command_reports_bad_files(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_test_image(src / "sub" / "a.jpg", random_image(50, 70, 3))
    write_test_image(src / "b.png", random_image(30, 30, 4))
    (src / "broken.png").write_bytes(b"not an image")
    result = CliRunner().invoke(cli, ["edges", str(src), str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "broken.png" in result.output and "2 edge maps written" in result.output
    out = ganedit.read_image(tmp_path / "out" / "sub" / "a.png")
    assert out.shape == (64, 64, 1)
    report = write_edge_maps([src / "b.png"], tmp_path / "o2", size=None, low=10, high=20)
    assert report.done and ganedit.read_image(report.done[0]).shape == (30, 30, 1)


# -------------------------------------------------------------------------- evaluation
def _fashion_like(folder: Path, n: int = 6) -> Path:
    rows = [("file", "label")]
    for i in range(n):
        item = random_image(64, 64, 1, seed=i)
        pair = np.concatenate([edge_map(item, None)[..., None], item], 1)
        ganedit.write_image(folder / "test" / f"{i:05d}.png", pair)
        rows.append((f"{i:05d}.png", str(i % 10)))
    with open(folder / "test" / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return folder / "test"


def test_evaluate_on_tiny_data(tmp_path: Path) -> None:
    test = _fashion_like(tmp_path)
    editor = ganedit.load(Pix2Pix, weights=False, device="cpu", **{**TINY, "depth": 3})
    result = evaluate_pix2pix(editor, {"data": [test]}, {"n": None})
    s = result["summary"]
    for key in ("psnr", "ssim", "mean_image_psnr", "accuracy", "input_accuracy"):
        assert np.isfinite(s[key]), key
    assert s["n"] == 6 and s["mean_image_from"] == "the evaluated targets"
    assert 0 <= s["target_accuracy"] <= 1 and s["frechet_distance"] >= 0
    assert sum(r["n"] for r in result["rows"]) == 6
    a, b = tmp_path / "pa", tmp_path / "pb"
    for i in range(3):
        ganedit.write_image(a / f"{i}.png", random_image(16, 16, 1, seed=i))
        ganedit.write_image(b / f"{i}.png", random_image(16, 16, 1, seed=i))
    rows = evaluate_pix2pix(editor, {"a": [a], "b": [b]}, {"n": 2})["rows"]
    assert [r["image"] for r in rows] == ["0.png", "1.png"]


def test_structure_kept() -> None:
    x = torch.rand(5, 1, 8, 8)
    assert structure_kept(x + 0.01, x) == (1.0, 1.0)
    nn_share, pair = structure_kept(x[torch.tensor([1, 0, 2, 3, 4])], x)
    assert nn_share == pytest.approx(0.6)
    assert pair < 1.0


# ------------------------------------------------------------------ bundled weights (slow-ish)
def test_bundled_weights_load_and_meet_loose_bars(tmp_path: Path, fashion_edges_test: Path) -> None:
    """The shipped fp16 weights on the first 300 test pairs (copied, so that the mean-image
    baseline is the mean of these targets and no training files are read)."""
    assert WEIGHTS.is_file(), f"bundled weights missing: {WEIGHTS}"
    sub = tmp_path / "test"
    sub.mkdir()
    with open(fashion_edges_test / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))[:301]
    for name, _ in rows[1:]:
        (sub / name).write_bytes((fashion_edges_test / name).read_bytes())
    with open(sub / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    editor = ganedit.load("pix2pix", device="cpu")
    assert editor.card["family"] == "pix2pix" and editor.io.in_channels == 1
    assert editor.io.size_multiple == 64
    s = evaluate_pix2pix(editor, {"data": [sub]}, {"n": None})["summary"]
    card = json.loads(WEIGHTS.with_suffix(".json").read_text())
    full = card["test"]["summary"]
    assert full["n"] == 10000 and full["accuracy"] >= 0.80  # the bar, as measured
    assert full["accuracy"] > card["test"]["compare"]["l1_only"]["summary"]["accuracy"]
    assert s["psnr"] > s["mean_image_psnr"] + 3.0
    assert s["accuracy"] > s["input_accuracy"] + 0.5
    assert s["accuracy"] > 0.75 and s["frechet_distance"] < 2.0
