"""Every shape the contract hosts, end to end: train a few steps through ``fit``, export the run
with ``ganedit export``, load the export and run it over a folder (or sample from it)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

import ganedit
from ganedit.cli import cli
from ganedit.cli.roles import parse_roles
from ganedit.engine import Engine, fit
from ganedit.io import read_image, write_image
from ganedit.testing import TINY_FAMILIES, TinyColorize, TinyCycle, TinyUpscale

# what a run over 20x28 gray / RGB / RGBA inputs gives: (output H, W, C) per input layout
EXPECTED = {
    "tiny-upscale": {1: (40, 56, 1), 3: (40, 56, 3), 4: (40, 56, 4)},  # x2; gray stays gray
    "tiny-inpaint": {4: (20, 28, 3)},  # alpha = the hole; the output is opaque
    "tiny-colorize": {1: (20, 28, 3), 3: (20, 28, 3), 4: (20, 28, 4)},  # gray becomes colour
    "tiny-cycle": {1: (20, 28, 1), 3: (20, 28, 3), 4: (20, 28, 4)},
}


def _train_and_export(name: str, tmp_path: Path) -> Path:
    cls, config = TINY_FAMILIES[name]
    data = cls().example_data(tmp_path / "data", config)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    fit(cls(), config, data, tmp_path / "run", engine, steps=3, progress=False, sample_every=0)
    out = tmp_path / "export" / f"{name}.safetensors"
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "run"), str(out), "--fp16"])
    assert result.exit_code == 0, result.output
    assert f"weights: {out}" in result.output and out.with_suffix(".json").is_file()
    return out


def _inputs(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for c in (1, 3, 4):
        img = rng.integers(0, 256, (20, 28, c), dtype=np.uint8)
        if c == 4:
            img[..., 3] = 255
            img[5:12, 6:15, 3] = 0  # a transparent hole
        write_image(folder / f"c{c}.png", img)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_image_families_train_export_and_run_over_a_folder(name: str, tmp_path: Path) -> None:
    weights = _train_and_export(name, tmp_path)
    _inputs(tmp_path / "in")
    cls = TINY_FAMILIES[name][0]
    report = ganedit.run_folder(
        cls, [tmp_path / "in"], tmp_path / "out", weights=weights, device="cpu", progress=False
    )
    want = EXPECTED[name]
    done = {p.name for p in report.done}
    assert done == {f"c{c}.png" for c in want}, report.failed
    for c, shape in want.items():
        out = read_image(tmp_path / "out" / f"c{c}.png")
        assert out.shape == shape and out.dtype == np.uint8
    if name == "tiny-inpaint":  # no mask and no alpha: that file's failure; the batch goes on
        assert {p.name for p, _why in report.failed} == {"c1.png", "c3.png"}
        # outside the hole the pixels are the input's
        src, out = read_image(tmp_path / "in" / "c4.png"), read_image(tmp_path / "out" / "c4.png")
        keep = src[..., 3] > 0
        assert np.array_equal(out[keep], src[..., :3][keep])


def test_generate_family_train_export_and_sample(tmp_path: Path) -> None:
    weights = _train_and_export("tiny-generate", tmp_path)
    editor = ganedit.load(TINY_FAMILIES["tiny-generate"][0], weights=weights, device="cpu")
    items = editor.sample(5, seed=1)
    assert items.shape == (5, 8, 8, 1) and items.dtype == np.uint8
    assert np.array_equal(items, editor.sample(5, seed=1))


def test_two_generator_family_runs_the_direction_asked_for(tmp_path: Path) -> None:
    weights = _train_and_export("tiny-cycle", tmp_path)
    img = np.random.default_rng(1).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    a2b = ganedit.load(TinyCycle, weights=weights, device="cpu")
    b2a = ganedit.load(TinyCycle, weights=weights, device="cpu", direction="b2a")
    assert a2b.config.direction == "a2b" and b2a.config.direction == "b2a"
    assert not np.array_equal(a2b(img), b2a(img))
    assert np.array_equal(a2b(img), a2b(img))  # deterministic at inference


def test_data_roles_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "x=y").mkdir()
    (tmp_path / "a").mkdir()
    roles = parse_roles((f"a={tmp_path / 'a'}", f"b={tmp_path}"), TinyColorize)
    assert roles == {"a": [tmp_path / "a"], "b": [tmp_path]}
    # a plain path, even one holding "=", is role "data" when the family has that role
    assert parse_roles((str(tmp_path / "x=y"),), TinyUpscale) == {"data": [tmp_path / "x=y"]}
    with pytest.raises(
        click.BadParameter, match="takes its data by role: --data a=DIR --data b=DIR"
    ):
        parse_roles((str(tmp_path),), TinyCycle)
    with pytest.raises(click.BadParameter, match="no such file"):
        parse_roles((f"a={tmp_path / 'nope'}",), TinyColorize)


def test_export_refuses_a_folder_without_checkpoints_and_an_existing_output(tmp_path: Path):
    result = CliRunner().invoke(cli, ["export", str(tmp_path), str(tmp_path / "w.safetensors")])
    assert result.exit_code == 1 and "no checkpoints" in result.output
    weights = _train_and_export("tiny-upscale", tmp_path)
    again = CliRunner().invoke(cli, ["export", str(tmp_path / "run"), str(weights)])
    assert again.exit_code == 2 and "--force" in again.output


def test_a_checkpoint_given_as_weights_says_how_to_export(tmp_path: Path) -> None:
    cls, config = TINY_FAMILIES["tiny-upscale"]
    data = cls().example_data(tmp_path / "data", config)
    fit(cls(), config, data, tmp_path / "run", Engine(device="cpu"), steps=1, progress=False)
    ckpt = next((tmp_path / "run" / "checkpoints").glob("*.safetensors"))
    with pytest.raises(ganedit.WeightsError, match="training checkpoint.*ganedit export"):
        ganedit.load(cls, weights=ckpt, device="cpu")
