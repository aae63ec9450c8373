"""The ``spandrel`` plugin: tiny random models built from spandrel's own architectures,
saved with ``torch.save``, imported with ``ganedit import --to spandrel`` and run by the
folder runner (untiled and tiled) equal ``descriptor(x)`` within 1/255."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

import ganedit
from ganedit.cli import cli
from ganedit.importing import ImportRefused, import_checkpoint
from ganedit.weights import WeightsError

if os.environ.get("CI"):
    spandrel = importlib.import_module("spandrel")  # the test extra must provide it
else:
    spandrel = pytest.importorskip("spandrel")

from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.LaMa import LaMa  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _image(path: Path, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(7 * xx + c) * np.cos(5 * yy - c) for c in range(3)], -1)
    img = ((base * 0.4 + 0.5 + rng.normal(0, 0.04, base.shape)).clip(0, 1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    ganedit.write_image(path, img)
    return img


def _descriptor_out(state: dict, img: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    desc = spandrel.ModelLoader().load_from_state_dict(state).eval()  # masked calls keep train mode
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    if mask is None:
        y = desc(x)
    else:
        y = desc(x, torch.from_numpy(mask)[None, None].float())
    return (y[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()


def _diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def _cli(*args: object) -> Result:
    """``ganedit ARGS`` in-process (paths as strings)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def _random(net: torch.nn.Module, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return net.state_dict()


def test_esrgan_import_and_folder_run_untiled_and_tiled(tmp_path: Path) -> None:
    state = _random(ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4), 0)
    torch.save({"params_ema": state}, tmp_path / "RealESRGAN_tiny.pth")
    img = _image(tmp_path / "in" / "a.png", 72, 88)
    weights = tmp_path / "esr.safetensors"
    r = _cli("import", tmp_path / "RealESRGAN_tiny.pth", weights, "--to", "spandrel",
             "--license", "BSD-3-Clause")  # fmt: skip
    assert r.exit_code == 0, r.output
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["family"] == "spandrel" and card["architecture"] == "ESRGAN"
    assert card["config"]["scale"] == 4 and card["config"]["tiling"] == "tiled"
    assert card["non_commercial"] is False and card["source"][0]["nesting"] == "params_ema"
    want = _descriptor_out(state, img)
    for tile in ("0", "48"):
        out = tmp_path / f"out{tile}"
        r = _cli("run", "spandrel", tmp_path / "in", out, "--weights", weights, "--tile", tile)
        assert r.exit_code == 0, r.output
        got = ganedit.read_image(out / "a.png")
        assert got.shape == (288, 352, 3) and _diff(got, want) <= 1, tile
        manifest = json.loads((out / "ganedit-run.json").read_text())
        assert manifest["weights_card"]["license"] == "BSD-3-Clause"
        assert manifest["weights_card"]["architecture"] == "ESRGAN"


def test_compact_and_swinir_through_the_api(tmp_path: Path) -> None:
    models = {
        "Compact": (Compact(num_feat=8, num_conv=2, upscale=2), "tiled"),
        "SwinIR": (
            SwinIR(
                img_size=16,
                embed_dim=12,
                depths=[2],
                num_heads=[2],
                window_size=4,
                upscale=2,
                upsampler="pixelshuffle",
                mlp_ratio=2.0,
            ),
            "untiled",
        ),
    }
    img = _image(tmp_path / "a.png", 32, 40)
    for i, (arch, (net, tiling)) in enumerate(models.items()):
        state = _random(net, i + 1)
        torch.save(state, tmp_path / f"{arch}.pth", _use_new_zipfile_serialization=bool(i))
        out = import_checkpoint(
            tmp_path / f"{arch}.pth", tmp_path / f"{arch}.safetensors", to="spandrel"
        )
        editor = ganedit.load("spandrel", weights=out)
        assert editor.card["architecture"] == arch and editor.card["config"]["tiling"] == tiling
        assert _diff(editor(img), _descriptor_out(state, img)) <= 1, arch
    tiled = ganedit.load("spandrel", weights=tmp_path / "Compact.safetensors", tile=16)
    assert _diff(tiled(img), _descriptor_out(_random(models["Compact"][0], 1), img)) <= 1


@pytest.mark.slow
def test_lama_inpaint(tmp_path: Path) -> None:
    state = LaMa(in_nc=4, out_nc=3).state_dict()
    ckpt = {
        "pytorch-lightning_version": "1.2.9",
        "epoch": 1,
        "state_dict": {
            **{f"generator.{k[len('model.') :]}": v for k, v in state.items()},
            "discriminator.w": torch.ones(3),
        },
    }
    torch.save(ckpt, tmp_path / "best.ckpt")
    with pytest.raises(ImportRefused, match="--lenient"):
        import_checkpoint(tmp_path / "best.ckpt", tmp_path / "lama.safetensors", to="spandrel")
    out = import_checkpoint(
        tmp_path / "best.ckpt", tmp_path / "lama.safetensors", to="spandrel", lenient=True
    )
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["family"] == "spandrel-inpaint" and card["config"]["size_multiple"] == 8
    img = _image(tmp_path / "a.png", 24, 32)
    mask = np.zeros((24, 32), bool)
    mask[6:14, 10:20] = True
    editor = ganedit.load("spandrel-inpaint", weights=out, memory_format="contiguous")
    assert _diff(editor(img, mask=mask), _descriptor_out(state, img, mask.astype(np.float32))) <= 1


def test_noncommercial_needs_the_flag_and_is_recorded(tmp_path: Path, monkeypatch) -> None:
    import ganedit_spandrel.family as fam

    monkeypatch.setattr(fam, "_registry", lambda: (spandrel.MAIN_REGISTRY, {"Compact"}))
    torch.save(_random(Compact(num_feat=4, num_conv=1, upscale=1), 0), tmp_path / "nc.pth")
    r = _cli("import", tmp_path / "nc.pth", tmp_path / "nc.safetensors", "--to", "spandrel")
    assert r.exit_code == 1 and "--allow-noncommercial" in r.output
    assert not (tmp_path / "nc.safetensors").exists()
    r = _cli("import", tmp_path / "nc.pth", tmp_path / "nc.safetensors", "--to", "spandrel",
             "--allow-noncommercial")  # fmt: skip
    assert r.exit_code == 0 and "NON-COMMERCIAL" in r.output
    _image(tmp_path / "in" / "a.png", 16, 16)
    r = _cli("run", "spandrel", tmp_path / "in", tmp_path / "o", "--weights",
             tmp_path / "nc.safetensors")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "o" / "ganedit-run.json").read_text())["weights_card"][
        "non_commercial"
    ]


def test_unsupported_precision_runs_fp32_and_arch_mismatch_refused(tmp_path: Path) -> None:
    state = _random(Compact(num_feat=4, num_conv=1, upscale=2), 3)
    torch.save(state, tmp_path / "c.pth")
    out = import_checkpoint(tmp_path / "c.pth", tmp_path / "c.safetensors", to="spandrel")
    family = ganedit.get_family("spandrel")
    editor = ganedit.load("spandrel", weights=out)
    x = torch.rand(1, 3, 8, 8)
    cfg = editor.config
    no_bf16 = type(cfg)(**{**cfg.__dict__, "supports_bfloat16": False})
    with torch.no_grad():
        ref = family.predict(editor.generator, {"image": x}, cfg)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fp32 = family.predict(editor.generator, {"image": x}, no_bf16)
            half = family.predict(editor.generator, {"image": x}, cfg)
    assert fp32.dtype == torch.float32 and torch.equal(fp32, ref)
    assert half.dtype == torch.bfloat16
    card = json.loads(out.with_suffix(".json").read_text())
    card["config"]["architecture"] = "SwinIR"
    card.pop("sha256")
    out.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="SwinIR"):
        ganedit.load("spandrel", weights=out)


def test_without_spandrel_a_usage_error_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    torch.save(_random(Compact(num_feat=4, num_conv=1, upscale=1), 0), tmp_path / "c.pth")
    import_checkpoint(tmp_path / "c.pth", tmp_path / "c.safetensors", to="spandrel")
    monkeypatch.setitem(sys.modules, "spandrel", None)
    r = _cli("import", tmp_path / "c.pth", tmp_path / "d.safetensors", "--to", "spandrel")
    assert r.exit_code == 2 and "ganedit[spandrel]" in r.output, r.output
    _image(tmp_path / "in" / "a.png", 8, 8)
    r = _cli("run", "spandrel", tmp_path / "in", tmp_path / "o", "--weights",
             tmp_path / "c.safetensors")  # fmt: skip
    assert r.exit_code == 2 and "ganedit[spandrel]" in r.output, r.output
    assert "spandrel" in ganedit.list_models()


def test_conformance_kit_on_a_seeded_tiny_compact() -> None:
    from ganedit_spandrel.family import Spandrel, SpandrelConfig

    from ganedit.testing import check_family

    class TinyCompact(Spandrel):
        """build_generator() fills the generator with a tiny Compact drawn from the torch
        seed, so the kit's seeded builds, save/load and tiling checks run on the plugin."""

        name = "spandrel-tiny-compact"

        def build_generator(self, name, config):
            net = super().build_generator(name, config)
            seed = int(torch.randint(0, 99, ()))
            net.load_state_dict(_random(Compact(num_feat=4, num_conv=2, upscale=2), seed))
            return net

    config = SpandrelConfig(
        architecture="Compact", scale=2, tiling="tiled", overlap=8, supports_half=True,
        supports_bfloat16=True,
    )  # fmt: skip
    check_family(TinyCompact, config, image_size=16)
