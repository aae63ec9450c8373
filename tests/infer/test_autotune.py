"""The measured memory-format choice (:mod:`ganedit.infer.tuning`): measured once per machine,
remembered on disk, overridable, the same pixels in either layout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganedit
from ganedit import formats
from ganedit.testing import TinyInpaint, TinyUpscale


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(formats, "_SEEN", {})
    return tmp_path / "cache" / "measurements.json"


def _layout(net: torch.nn.Module) -> set[bool]:
    """For each 4-d weight: is it channels_last?"""
    return {
        p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
        for p in net.parameters()
        if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] * p.shape[3] > 1
    }


def test_auto_measures_once_then_recalls_from_disk(cache: Path) -> None:
    first = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert first.memory.source == "measured" and first.memory_format == "auto"
    assert set(first.memory.seconds) == {"channels_last", "contiguous"}
    assert first.memory.name == min(first.memory.seconds, key=first.memory.seconds.__getitem__)
    doc = json.loads(cache.read_text())
    (key,) = doc
    assert key.startswith("infer|tiny-upscale/") and "|fp32|cpu|" in key
    formats._SEEN.clear()  # a new process: only the file remembers
    second = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert second.memory.source == "cached" and second.memory.name == first.memory.name
    assert "per probe" in second.memory.describe()


@pytest.mark.parametrize("fmt", ["channels_last", "contiguous"])
def test_requested_format_is_applied_and_pixels_agree(cache: Path, fmt: str) -> None:
    img = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    want = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format="contiguous")(img)
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format=fmt)
    assert ed.memory.source == "requested" and ed.memory.name == fmt
    assert _layout(ed.generator) == {fmt == "channels_last"}
    got = ed(img)
    assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not cache.exists()  # nothing measured, nothing written


def test_setting_the_option_on_a_loaded_editor_converts_it(cache: Path) -> None:
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format="contiguous")
    ed.memory_format = "channels-last"  # the CLI spelling is accepted too
    assert ed.memory_format == "channels_last" and _layout(ed.generator) == {True}
    with pytest.raises(ValueError, match="memory_format must be one of auto"):
        ed.memory_format = "nhwc"


def test_mask_family_probe_and_unwritable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IMAGE_MASK family is probed with a mask; a cache that cannot be written is no error."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(blocker / "sub"))
    monkeypatch.setattr(formats, "_SEEN", {})
    ed = ganedit.load(TinyInpaint, weights=False, device="cpu")
    assert ed.memory.source == "measured"
    img = np.full((16, 16, 3), 90, np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 255
    assert ed(img, mask=mask).shape == (16, 16, 3)


def test_run_option_reaches_cli_and_manifest(tmp_path: Path, cache: Path) -> None:
    from ganedit.cli import cli

    src = tmp_path / "in"
    src.mkdir()
    import cv2

    cv2.imwrite(str(src / "a.png"), np.full((24, 24, 3), 128, np.uint8))
    res = CliRunner().invoke(
        cli,
        ["run", "srgan", str(src), str(tmp_path / "out"), "--device", "cpu",
         "--memory-format", "contiguous"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())
    params = manifest["parameters"]
    assert params["memory_format"] == "contiguous" and params["memory"] == "contiguous (requested)"
    res = CliRunner().invoke(cli, ["run", "srgan", str(src), str(tmp_path / "o2"),
                                    "--memory-format", "nhwc"])  # fmt: skip
    assert res.exit_code != 0 and "nhwc" in res.output
    assert os.environ["GANEDIT_CACHE_DIR"].endswith("cache")
