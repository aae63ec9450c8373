"""Tests of the cyclegan family (CPU, tiny networks). The bundled-weights test runs on the
first 100 test sneakers and ankle boots, made from the checked-in Fashion-MNIST fixture
(``fashion_cycle``, tests/plugins/conftest.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from ganedit_translate.cyclegan import CycleGAN, CycleGANConfig
from ganedit_translate.evaluate import evaluate_cyclegan
from imagefiles import random_image, write_test_image
from translate_kit import TINY_UNPAIRED, WEIGHTS_DIR, check_odd_sizes, tiny_config

import ganedit
from ganedit.config import update_config
from ganedit.data import DatasetError
from ganedit.engine import export_weights
from ganedit.testing import check_family
from ganedit.weights import load_weights

WEIGHTS = WEIGHTS_DIR / "cyclegan-fashion-sneaker-boot.safetensors"

TINY = {**TINY_UNPAIRED, "pool_size": 3}


def tiny(**kw) -> CycleGANConfig:
    return tiny_config(CycleGANConfig, TINY, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny run trained 6 steps (pool of 3 filled and swapping) and its exported weights."""
    tmp = tmp_path_factory.mktemp("cyc")
    data = CycleGAN().example_data(tmp / "data", tiny())
    run = tmp / "run"
    ganedit.train(
        "cyclegan",
        data=data,
        out=run,
        steps=6,
        overrides=[f"{k}={v}" for k, v in TINY.items()],
        device="cpu",
        progress=False,
        checkpoint_every=3,
        sample_every=6,
    )
    return run, export_weights(run, tmp / "w.safetensors", fp16=True)


# ----------------------------------------------------------------------------- the family
def test_conformance() -> None:
    check_family(CycleGAN, tiny(content_weight=1.0))  # the optional content term on


def test_content_term_measures_the_blurred_difference() -> None:
    from ganedit_translate.common import content_loss as _content

    x = torch.rand(2, 1, 16, 16)
    assert float(_content(x, x, 2.0)) == 0.0
    assert float(_content(x + 0.25, x, 2.0)) == pytest.approx(0.25, abs=1e-5)
    # fine detail is mostly blurred away; a layout change is not
    noise = x + 0.2 * torch.sign(torch.randn_like(x))
    assert float(_content(noise, x, 2.0)) < 0.05 < 0.5 * float((noise - x).abs().mean())
    square = torch.zeros(1, 1, 16, 16)
    square[..., 4:10, 2:8] = 1.0
    assert float(_content(torch.roll(square, 6, dims=3), square, 2.0)) > 0.1
    assert CycleGANConfig().content_weight == 0.0  # off by default (not in the paper)


def test_robust_content_penalty_is_l1_near_zero_and_logarithmic_far() -> None:
    """content_scale c: c * log(1 + |d| / c): L1's value and slope for |d| << c, much less
    than L1 for a large change (a part that must change shape), still monotone."""
    from ganedit_translate.common import content_loss as _content

    x = torch.full((1, 1, 16, 16), 0.2)
    small, large = _content(x + 0.001, x, 2.0, 0.1), _content(x + 0.6, x, 2.0, 0.1)
    assert float(small) == pytest.approx(0.001, rel=0.01)
    assert float(large) == pytest.approx(0.1 * math.log1p(6.0), rel=1e-4)
    assert float(large) < 0.5 * 0.6  # a third of L1 at |d| = 0.6
    assert float(_content(x + 0.3, x, 2.0, 0.1)) < float(large)
    assert CycleGANConfig().content_scale == 0.0  # plain L1 unless asked
    check_family(CycleGAN, tiny(content_weight=1.0, content_scale=0.1), only=["training"])


def test_conformance_rgb_no_identity() -> None:
    check_family(CycleGAN, tiny(channels=3, identity=0.0), only=["training", "resume"])


def test_paper_defaults() -> None:
    c = CycleGANConfig()
    assert (c.width, c.blocks, c.gan_loss, c.cycle_weight, c.identity, c.pool_size) == (
        64,
        9,
        "lsgan",
        10.0,
        0.5,
        50,
    )
    fam = ganedit.get_family("cyclegan")
    assert fam.generators == ("a2b", "b2a") and not fam.io(c).tiling.tileable
    assert fam.generator_for(update_config(c, {"direction": "b2a"})) == "b2a"
    norms = {type(m).__name__ for m in fam.build_generator("a2b", c).modules()}
    assert "InstanceNorm2d" in norms and "ReflectionPad2d" in norms


def test_domains_and_errors(tmp_path: Path) -> None:
    fam, cfg = CycleGAN(), tiny()
    for d in ("trainA", "trainB"):
        for i in range(2):
            write_test_image(tmp_path / d / f"{i}.png", random_image(20, 20, 1, seed=i))
    assert len(fam.dataset({"data": [tmp_path]}, cfg)) == 2
    with pytest.raises(DatasetError, match="domain b is missing"):
        fam.dataset({"a": [tmp_path / "trainA"]}, cfg)
    (tmp_path / "emptyB").mkdir()
    with pytest.raises(DatasetError, match="domain b: no images found in .*emptyB"):
        fam.dataset({"a": [tmp_path / "trainA"], "b": [tmp_path / "emptyB"]}, cfg)
    with pytest.raises(DatasetError, match="domain a: .*nowhere not found"):
        fam.dataset({"a": [tmp_path / "nowhere"], "b": [tmp_path / "trainB"]}, cfg)
    with pytest.raises(DatasetError, match="trainB"):
        fam.dataset({"data": [tmp_path / "trainA"]}, cfg)


# ------------------------------------------------------------------ training state and grid
def test_pool_is_checkpointed(trained: tuple[Path, Path]) -> None:
    """After 6 steps of batch 2 the pools of 3 are full, and every checkpoint holds both."""
    from safetensors.torch import load_file

    run, _ = trained
    ckpts = sorted((run / "checkpoints").glob("*.safetensors"))
    assert ckpts
    for p in ckpts:
        pools = {k: v for k, v in load_file(str(p)).items() if "pool_" in k}
        assert {k.rsplit("/", 1)[-1] for k in pools} == {"pool_a", "pool_b"}, p.name
        assert all(v.shape == (3, 1, 16, 16) for v in pools.values()), p.name


def test_sample_grid_columns() -> None:
    fam, cfg = CycleGAN(), tiny()
    nets = {k: v.eval() for k, v in fam.build(cfg).items()}
    inputs = {"image": torch.rand(2, 1, 16, 16), "b": torch.rand(2, 1, 16, 16)}
    with torch.no_grad():
        cols = fam.sample_columns(nets, inputs, cfg)
        assert len(cols) == 6 and torch.equal(cols[0], inputs["image"])
        assert torch.equal(cols[3], inputs["b"])
        expect = fam.predict(nets["b2a"], {"image": cols[1]}, cfg)
        assert torch.equal(cols[2], expect)


# --------------------------------------------------------------------------- inference
def test_direction_loads_only_one_generator(
    trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, weights = trained
    state, _ = load_weights(weights)
    assert any(k.startswith("a2b.") for k in state) and any(k.startswith("b2a.") for k in state)
    built: list[str] = []
    original = CycleGAN.build_generator

    def spy(self, name, config):  # type: ignore[no-untyped-def]
        built.append(name)
        return original(self, name, config)

    monkeypatch.setattr(CycleGAN, "build_generator", spy)
    monkeypatch.setattr(CycleGAN, "build", lambda self, c: pytest.fail("built everything"))
    x = torch.rand(1, 1, 16, 16)
    outs = {}
    for d in ("a2b", "b2a"):
        editor = ganedit.load(CycleGAN, weights=weights, device="cpu", direction=d)
        assert editor.generator_name == d
        outs[d] = editor(x)
    assert built == ["a2b", "b2a"]
    assert not torch.allclose(outs["a2b"], outs["b2a"])


def test_run_folder_layouts_odd_sizes(trained: tuple[Path, Path], tmp_path: Path) -> None:
    check_odd_sizes("cyclegan", tmp_path, weights=trained[1], direction="b2a")


def test_evaluate_on_tiny_data(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, weights = trained
    for d, seed in (("testA", 0), ("testB", 50)):
        for i in range(4):
            write_test_image(tmp_path / d / f"{i}.png", random_image(28, 28, 1, seed=seed + i))
    (tmp_path / "classes.json").write_text('{"a": 7, "b": 9}')
    editor = ganedit.load("cyclegan", weights=weights, device="cpu")
    fam = ganedit.get_family("cyclegan")
    sheets = tmp_path / "sheets"
    result = fam.evaluate(editor, {"data": [tmp_path]}, {"n": None, "sheets": sheets})
    s = result["summary"]
    for d in ("a2b", "b2a"):
        for k in ("cycle_psnr", "structure_nn", "structure_pair", "target_share", "input_share"):
            assert np.isfinite(s[f"{d}_{k}"]), (d, k)
        assert 0.0 <= s[f"{d}_content"] <= 1.0
        sheet = ganedit.read_image(sheets / f"cyclegan-{d}.png")
        assert s[f"{d}_sheet"] == str(sheets / f"cyclegan-{d}.png")
        assert sheet.shape == (28, 6 * (2 * 28 + 6) - 6, 1)  # one row of 4 pairs (6 slots)
    assert [r["direction"] for r in result["rows"]] == ["a2b", "b2a"]
    other = tmp_path / "elsewhere"  # no classes.json above the domains: no class figures
    other.mkdir()
    for d in ("testA", "testB"):
        (tmp_path / d).rename(other / d)
    plain = evaluate_cyclegan(editor, {"a": [other / "testA"], "b": [other / "testB"]}, {})
    assert "a2b_target_share" not in plain["summary"] and "a2b_cycle_psnr" in plain["summary"]


# ------------------------------------------------------------------------- bundled weights
def test_bundled_weights_load_and_meet_loose_bars(fashion_cycle: Path) -> None:
    assert WEIGHTS.is_file(), f"bundled weights missing: {WEIGHTS}"
    editor = ganedit.load("cyclegan", device="cpu")
    assert editor.generator_name == "a2b" and editor.io.in_channels == 1
    s = ganedit.get_family("cyclegan").evaluate(editor, {"data": [fashion_cycle]}, {"n": 100})[
        "summary"
    ]
    for d in ("a2b", "b2a"):
        assert s[f"{d}_target_share"] > s[f"{d}_input_share"] + 0.6, d
        assert s[f"{d}_target_share"] > 0.7, d
        assert s[f"{d}_cycle_psnr"] > 20, d
        assert s[f"{d}_frechet_distance"] < s[f"{d}_input_frechet_distance"] / 4, d
        assert s[f"{d}_structure_pair_centred"] > 0.52, d  # weakly above chance (0.5)


def test_content_weight_of_b2a_alone() -> None:
    from ganedit_translate.common import content_weights as _content_weights

    assert _content_weights(CycleGANConfig(content_weight=3.0)) == (3.0, 3.0)
    assert _content_weights(CycleGANConfig(content_weight=3.0, content_weight_b2a=2.0)) == (
        3.0,
        2.0,
    )
    assert _content_weights(CycleGANConfig(content_weight_b2a=1.5)) == (0.0, 1.5)


def test_conformance_with_the_contrastive_content_term() -> None:
    """The contrastive content term (``ganedit_translate.common``) beside the pools."""
    check_family(CycleGAN, tiny(content_contrast=1.0, content_bank=3), only=["training", "resume"])
