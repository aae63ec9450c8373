"""Inference settings by measurement (:mod:`ganedit.infer.autotune`): memory format and precision in one probe, measured once per machine,
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
from ganedit import measured
from ganedit.testing import TinyInpaint, TinyUpscale


def _layout(net: torch.nn.Module) -> set[bool]:
    """For each 4-d weight: is it channels_last?"""
    return {
        p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
        for p in net.parameters()
        if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] * p.shape[3] > 1
    }


def test_auto_measures_once_then_recalls_from_disk(formats_cache: Path, fp32_cpu: None) -> None:
    first = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert first.memory.source == "measured" and first.memory_format == "auto"
    assert set(first.memory.seconds) == {"channels_last", "contiguous"}
    assert first.memory.name == min(first.memory.seconds, key=first.memory.seconds.__getitem__)
    doc = json.loads(formats_cache.read_text())
    (key,) = doc
    assert key.startswith("infer|tiny-upscale/") and "|fp32|cpu|" in key
    measured._SEEN.clear()  # a new process: only the file remembers
    second = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert second.memory.source == "cached" and second.memory.name == first.memory.name
    assert "per probe" in second.memory.describe()


@pytest.mark.parametrize("fmt", ["channels_last", "contiguous"])
def test_requested_format_is_applied_and_pixels_agree(
    formats_cache: Path, fp32_cpu: None, fmt: str
) -> None:
    img = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    want = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format="contiguous")(img)
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format=fmt)
    assert ed.memory.source == "requested" and ed.memory.name == fmt
    assert _layout(ed.generator) == {fmt == "channels_last"}
    got = ed(img)
    assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not formats_cache.exists()  # nothing measured, nothing written


def test_setting_the_option_on_a_loaded_editor_converts_it(formats_cache: Path) -> None:
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
    monkeypatch.setattr(measured, "_SEEN", {})
    ed = ganedit.load(TinyInpaint, weights=False, device="cpu")
    assert ed.memory.source == "measured"
    img = np.full((16, 16, 3), 90, np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 255
    assert ed(img, mask=mask).shape == (16, 16, 3)


def test_run_option_reaches_cli_and_manifest(tmp_path: Path, formats_cache: Path) -> None:
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


# ------------------------------------------------------------------ precision, in the same probe
class _Amplifier(torch.nn.Module):
    """0.5 + 100 * (conv(x) - x): exactly 0.5 in fp32; a reduced-precision conv's rounding
    (about 2**-9 of x) is amplified to many levels, so the quality guard must refuse it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 + 100 * (self.conv(x).float() - x)


class _Fragile(TinyUpscale):
    name = "fragile"

    def build_generator(self, name: str, config: object) -> torch.nn.Module:
        return _Amplifier()

    def io(self, config: object):  # scale 1, so the amplifier's output fits
        from dataclasses import replace

        return replace(super().io(config), scale=1)

    def predict(self, net, inputs, config):
        return net(inputs["image"]).clamp(0, 1)


def test_cpu_without_half_instructions_measures_formats_only(
    formats_cache: Path, fp32_cpu: None, fake_timings
) -> None:
    ran = fake_timings("bf16")
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert ed.precision.name == "fp32" and ed.precision.source == "requested"
    assert sorted(ran) == ["fp32/channels_last", "fp32/contiguous"]


def test_auto_takes_bf16_when_faster_and_within_the_guard(
    formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    ran = fake_timings("bf16")
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert set(ran) == {"fp32/contiguous", "fp32/channels_last", "bf16/contiguous",
                        "bf16/channels_last"}  # fmt: skip
    assert (ed.precision.name, ed.precision.source, ed.memory.name) == (
        "bf16",
        "measured",
        "channels_last",
    )
    assert ed.precision.dtype == torch.bfloat16
    assert "within" in ed.precision.guard["bf16"] and "guard bf16" in ed.precision.describe()
    img = (np.random.default_rng(1).random((24, 20, 3)) * 255).astype(np.uint8)
    ref = ganedit.load(TinyUpscale, weights=False, device="cpu", precision="fp32")(img)
    assert np.abs(ed(img).astype(int) - ref.astype(int)).max() <= 2
    measured._SEEN.clear()  # a new process recalls both answers from the file, measuring nothing
    ran.clear()
    again = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert (again.precision.name, again.precision.source, ran) == ("bf16", "cached", [])


def test_auto_keeps_fp32_when_it_is_faster(
    formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    fake_timings("fp32")
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu")
    assert (ed.precision.name, ed.precision.source) == ("fp32", "measured")
    assert set(ed.precision.seconds) == {"fp32/contiguous", "fp32/channels_last",
                                         "bf16/contiguous", "bf16/channels_last"}  # fmt: skip


def test_guard_refuses_bf16_that_changes_the_pixels_even_when_faster(
    formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    ran = fake_timings("bf16")
    ed = ganedit.load(_Fragile, weights=False, device="cpu")
    assert ed.precision.name == "fp32"
    assert "beyond" in ed.precision.guard["bf16"]
    assert not any(r.startswith("bf16") for r in ran)  # refused before any timing


def test_named_precision_and_format_measure_nothing(
    formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    ran = fake_timings("fp32")
    ed = ganedit.load(
        TinyUpscale, weights=False, device="cpu", precision="bf16", memory_format="contiguous"
    )
    assert (ed.precision.name, ed.precision.source, ran) == ("bf16", "requested", [])
    assert ed.precision.note == ""  # the CPU has it: nothing to warn about
    ed32 = ganedit.load(TinyUpscale, weights=False, device="cpu", precision="fp32")
    assert ed32.precision.name == "fp32" and set(ran) == {"fp32/contiguous",
                                                          "fp32/channels_last"}  # fmt: skip


def test_generate_family_guard_compares_sample_statistics(
    formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    from ganedit.testing import TinyGenerate

    fake_timings("bf16")
    ed = ganedit.load(TinyGenerate, weights=False, device="cpu")
    assert "samples' channel mean" in ed.precision.guard["bf16"]
    assert ed.precision.name == ("bf16" if "within" in ed.precision.guard["bf16"] else "fp32")


def test_folder_run_records_the_precision_choice(
    tmp_path: Path, formats_cache: Path, bf16_cpu: None, fake_timings
) -> None:
    fake_timings("bf16")
    src = tmp_path / "in"
    src.mkdir()
    ganedit.write_image(src / "a.png", np.full((16, 12, 3), 100, np.uint8))
    ganedit.run_folder(TinyUpscale(), [src], tmp_path / "out", weights=False, progress=False)
    params = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())["parameters"]
    assert params["precision"] == "bf16"
    assert params["precision_choice"].startswith("bf16 (measured: ")
