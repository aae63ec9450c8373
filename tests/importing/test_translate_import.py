"""``ganedit import`` of reference pix2pix / CycleGAN generators, then ``ganedit run``: the
outputs equal a direct forward of the reference module (eval mode, [-1, 1] mapping, rounding)
within 1/255."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from reference_layouts import RefResnet, RefUnet, randomize, with_old_instance_norm_keys

import ganedit
import ganedit.weights
from ganedit.cli import cli

pytestmark = pytest.mark.usefixtures("one_thread")


def _save(state: dict, path: Path, legacy: bool) -> Path:
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


def _image(path: Path, size: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(channels)], -1)
    img = ((base * 0.4 + 0.5 + rng.normal(0, 0.05, base.shape)).clip(0, 1) * 255).astype(np.uint8)
    ganedit.write_image(path, img if channels == 3 else img[..., 0])
    return img


def _reference(net: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = (net(x * 2 - 1) + 1) / 2
    return (y[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _import_and_run(tmp: Path, sources: list[Path], to: str, img_path: Path, *extra: str):
    weights = tmp / f"{to}.safetensors"
    r = CliRunner().invoke(
        cli,
        [
            "import",
            *map(str, sources),
            str(weights),
            "--to",
            to,
            "--license",
            "BSD-3-Clause",
            *extra,
        ],
    )
    assert r.exit_code == 0, r.output
    out = tmp / "out"
    r = CliRunner().invoke(
        cli,
        [
            "run",
            to,
            str(img_path),
            str(out),
            "--weights",
            str(weights),
            *(["--direction", extra[1].split("=")[1]] if extra else []),
        ],
    )
    assert r.exit_code == 0, r.output
    card = json.loads(weights.with_suffix(".json").read_text())
    manifest = json.loads((out / "ganedit-run.json").read_text())
    return ganedit.read_image(out / img_path.name), card, manifest


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_pix2pix_unet256_batchnorm(tmp_path: Path, legacy: bool) -> None:
    ref = randomize(RefUnet(3, 3, downs=8, ngf=8, norm="batch"), seed=1)
    src = _save(ref.state_dict(), tmp_path / "latest_net_G.pth", legacy)
    img = _image(tmp_path / "in.png", 256)
    got, card, manifest = _import_and_run(tmp_path, [src], "pix2pix", tmp_path / "in.png")
    want = _reference(ref, img)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert card["config"]["depth"] == 8 and card["config"]["width"] == 8
    assert card["config"]["norm"] == "batch" and card["layout"].startswith("pix2pix unet_256")
    assert card["source"][0]["layout"] == ("legacy" if legacy else "zip")
    assert card["license"] == "BSD-3-Clause" and card["non_commercial"] is False
    assert manifest["weights_card"]["license"] == "BSD-3-Clause"
    assert manifest["weights_card"]["source"][0]["file"] == "latest_net_G.pth"


def test_pix2pix_unet128_instance_norm_old_keys(tmp_path: Path) -> None:
    ref = randomize(RefUnet(3, 3, downs=7, ngf=8, norm="instance"), seed=2)
    state = with_old_instance_norm_keys(ref.state_dict(), ref)
    src = _save({"state_dict": state}, tmp_path / "g.pth", legacy=False)
    img = _image(tmp_path / "in.png", 128)
    got, card, _ = _import_and_run(tmp_path, [src], "pix2pix", tmp_path / "in.png")
    assert np.abs(got.astype(int) - _reference(ref, img).astype(int)).max() <= 1
    assert card["config"]["depth"] == 7 and card["config"]["norm"] == "instance"
    assert card["source"][0]["nesting"] == "state_dict"


@pytest.mark.parametrize(
    "legacy,old_keys", [(False, False), (True, True)], ids=["zip", "legacy-oldIN"]
)
def test_cyclegan_resnet9_two_files(tmp_path: Path, legacy: bool, old_keys: bool) -> None:
    nets = [randomize(RefResnet(3, 3, ngf=8, blocks=9), seed=s) for s in (3, 4)]
    files = []
    for name, net in zip(("G_A", "G_B"), nets, strict=False):
        state = with_old_instance_norm_keys(net.state_dict(), net) if old_keys else net.state_dict()
        files.append(_save(state, tmp_path / f"latest_net_{name}.pth", legacy))
    img = _image(tmp_path / "in.png", 64)
    got, card, _ = _import_and_run(
        tmp_path, files, "cyclegan", tmp_path / "in.png", "--set", "direction=b2a"
    )
    assert np.abs(got.astype(int) - _reference(nets[1], img).astype(int)).max() <= 1
    assert card["config"]["down_padding"] == "zeros" and card["config"]["blocks"] == 9
    a2b = ganedit.load("cyclegan", weights=tmp_path / "cyclegan.safetensors", direction="a2b")
    assert np.abs(a2b(img).astype(int) - _reference(nets[0], img).astype(int)).max() <= 1


def test_cyclegan_one_file_and_default_padding_unchanged(tmp_path: Path) -> None:
    ref = randomize(RefResnet(3, 3, ngf=8, blocks=6, dropout=True), seed=5)
    src = _save(ref.state_dict(), tmp_path / "horse2zebra.pth", legacy=False)
    out = tmp_path / "h2z.safetensors"
    ganedit.weights.import_checkpoint(src, out, to="cyclegan")  # the same as ganedit.importing's
    img = _image(tmp_path / "in.png", 64)
    got = ganedit.load("cyclegan", weights=out)(img)
    assert np.abs(got.astype(int) - _reference(ref, img).astype(int)).max() <= 1
    # the Config default stays reflect: loading with it differs from the reference
    reflect = ganedit.load("cyclegan", weights=out, down_padding="reflect")(img)
    assert np.abs(reflect.astype(int) - _reference(ref, img).astype(int)).max() > 1
    assert ganedit.get_family("cyclegan").Config().down_padding == "reflect"


def test_wrong_family_is_refused_with_what_was_expected(tmp_path: Path) -> None:
    ref = randomize(RefResnet(3, 3, ngf=8, blocks=2), seed=6)
    src = _save(ref.state_dict(), tmp_path / "g.pth", legacy=False)
    r = CliRunner().invoke(
        cli, ["import", str(src), str(tmp_path / "o.safetensors"), "--to", "pix2pix"]
    )
    assert r.exit_code == 1 and "not a pix2pix U-Net state dict" in r.output
    r = CliRunner().invoke(
        cli, ["import", str(src), str(tmp_path / "o.safetensors"), "--to", "nope"]
    )
    assert r.exit_code == 2 and "no importer for 'nope'" in r.output and "cyclegan" in r.output
