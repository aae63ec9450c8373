"""Hostile and damaged files are refused by ``ganedit import`` with nothing executed: a
canary file stays absent, and ``torch.load`` / ``torch.jit.load`` (patched to raise) are
never called."""

from __future__ import annotations

import collections
import os
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hostile import (
    Canary,
    FakeDictConfig,
    FakeStorage,
    _Rebuild,
    build_on_tensor,
    fake_pickle,
    floats,
    tensor_zip,
    write_legacy,
    write_zip,
)

from ganedit import write_image
from ganedit.cli import cli
from ganedit.importing import ImportRefused, import_checkpoint, read_checkpoint
from ganedit.weights import WeightsError, load_weights


@pytest.fixture(autouse=True)
def no_torch_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k):
        raise AssertionError("torch.load / torch.jit.load must never be called")

    monkeypatch.setattr(torch, "load", boom)
    monkeypatch.setattr(torch.jit, "load", boom)


@pytest.fixture
def canary(tmp_path: Path):
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "the file ran code"


def _refused(path: Path, *words: str, tmp: Path | None = None) -> str:
    with pytest.raises(ImportRefused) as info:
        read_checkpoint(path)
    text = str(info.value)
    assert text.startswith(str(path)), text
    for w in words:
        assert w in text, text
    out = (tmp or path.parent) / "out.safetensors"
    r = CliRunner().invoke(cli, ["import", str(path), str(out), "--to", "tensors"])
    assert r.exit_code == 1 and str(path) in r.output, r.output
    assert not out.exists()
    return text


def test_os_system_zip_and_legacy(tmp_path: Path, canary: Path) -> None:
    zpath = write_zip(tmp_path / "evil.pth", fake_pickle({"w": Canary(canary)}), {})
    _refused(zpath, "global posix.system is not allowed")
    lpath = write_legacy(tmp_path / "evil-legacy.pth", {"w": Canary(canary)}, {})
    _refused(lpath, "global posix.system is not allowed")


def test_os_system_refused_even_when_lenient(tmp_path: Path, canary: Path) -> None:
    obj = {"state_dict": {"w": Canary(canary)}, "pytorch-lightning_version": "2.0"}
    path = write_zip(tmp_path / "evil.ckpt", fake_pickle(obj), {})
    with pytest.raises(ImportRefused, match="posix.system"):
        read_checkpoint(path, lenient=True)


def test_torchscript_with_side_effecting_setstate(tmp_path: Path, capfd) -> None:
    class M(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("w", torch.ones(2))

        @torch.jit.export
        def __getstate__(self):
            return (self.w, self.training)

        @torch.jit.export
        def __setstate__(self, state: tuple[torch.Tensor, bool]) -> None:
            print("SETSTATE RAN")
            self.w = state[0]
            self.training = state[1]

    path = tmp_path / "model.pth"
    torch.jit.save(torch.jit.script(M()), str(path))
    _refused(path, "TorchScript")
    assert "SETSTATE RAN" not in capfd.readouterr().out


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"size": (4, 3)}, "out of bounds"),
        ({"offset": 1}, "out of bounds"),
        ({"offset": -2}, "negative"),
        ({"stride": (-3, 1), "offset": 3}, "negative"),
        ({"size": (1 << 40, 1 << 40), "stride": (0, 0)}, "limit"),
        ({"nbytes": 20}, "size mismatch"),
        ({"nbytes": 28}, "size mismatch"),
        ({"byteorder": b"big"}, "little-endian"),
    ],
    ids=[
        "oob",
        "oob-offset",
        "neg-offset",
        "neg-stride",
        "huge-view",
        "short",
        "long",
        "big-endian",
    ],
)
def test_bad_views_and_storages(tmp_path: Path, kwargs: dict, words: str) -> None:
    _refused(tensor_zip(tmp_path / "bad.pth", **kwargs), words)


def test_build_on_a_tensor(tmp_path: Path) -> None:
    _refused(build_on_tensor(tmp_path / "b.pth"), "BUILD on a tensor")


def test_two_data_pkl(tmp_path: Path) -> None:
    good = tensor_zip(tmp_path / "good.pth")
    with zipfile.ZipFile(good, "a") as zf:
        zf.writestr("other/data.pkl", zf.read("archive/data.pkl"))
    _refused(good, "2 data.pkl")


def test_zip_bomb_and_huge_pickle(tmp_path: Path) -> None:
    n = 16 << 20  # 64 MiB of zeros deflates to ~64 KiB
    st = FakeStorage("0", n)
    pkl = fake_pickle({"w": _Rebuild(st, 0, (n,), (1,))})
    bomb = write_zip(tmp_path / "bomb.pth", pkl, {"0": bytes(4 * n)}, compress=True)
    assert bomb.stat().st_size < 1 << 20
    _refused(bomb, "zip bomb")
    huge = write_zip(tmp_path / "huge.pth", b"\x80\x02" + b"N0" * (17 << 20) + b"N.", {})
    _refused(huge, "data.pkl", "limit")


def test_big_endian_legacy(tmp_path: Path) -> None:
    st = FakeStorage("k1", 6)
    path = write_legacy(
        tmp_path / "be.pth", {"w": _Rebuild(st, 0, (6,), (1,))}, {"k1": floats(6)}, little=False
    )
    _refused(path, "big-endian")


def test_legacy_count_mismatch(tmp_path: Path) -> None:
    st = FakeStorage("k1", 8)
    path = write_legacy(tmp_path / "lm.pth", {"w": _Rebuild(st, 0, (6,), (1,))}, {"k1": floats(6)})
    _refused(path, "size mismatch")


def test_nan_refused(tmp_path: Path) -> None:
    st = FakeStorage("0", 2)
    pkl = fake_pickle({"w": _Rebuild(st, 0, (2,), (1,))})
    data = torch.tensor([1.0, float("nan")]).numpy().tobytes()
    _refused(write_zip(tmp_path / "nan.pth", pkl, {"0": data}), "NaN")


def _fake_lightning(monkeypatch: pytest.MonkeyPatch, canary: Path) -> type:
    """``omegaconf.dictconfig.DictConfig`` as a stand-in whose ``__setstate__`` would create
    the canary if any unpickler ever ran it."""
    mod = types.ModuleType("omegaconf.dictconfig")
    FakeDictConfig.__module__ = "omegaconf.dictconfig"
    FakeDictConfig.__qualname__ = FakeDictConfig.__name__ = "DictConfig"
    FakeDictConfig.canary = canary
    mod.DictConfig = FakeDictConfig
    monkeypatch.setitem(sys.modules, "omegaconf", types.ModuleType("omegaconf"))
    monkeypatch.setitem(sys.modules, "omegaconf.dictconfig", mod)
    return FakeDictConfig


def test_lightning_only_with_lenient(tmp_path: Path, monkeypatch, canary: Path) -> None:
    config_cls = _fake_lightning(monkeypatch, canary)
    st = FakeStorage("0", 6)
    obj = {
        "epoch": 3,
        "pytorch-lightning_version": "1.9",
        "hyper_parameters": config_cls({"lr": 1e-3}),
        "state_dict": collections.OrderedDict([("generator.w", _Rebuild(st, 0, (2, 3), (3, 1)))]),
    }
    path = write_zip(tmp_path / "best.ckpt", fake_pickle(obj), {"0": floats(6)})
    text = _refused(path, "--lenient")
    assert "omegaconf.dictconfig.DictConfig" in text
    src = read_checkpoint(path, lenient=True)
    assert src.lightning and src.nesting == "state_dict"
    assert src.inert == ["omegaconf.dictconfig.DictConfig"]
    assert torch.equal(src.tensors["generator.w"], torch.arange(6.0).view(2, 3))
    out = import_checkpoint(path, tmp_path / "t.safetensors", to="tensors", lenient=True)
    state, card = load_weights(out)
    assert list(state) == ["generator.w"] and card["source"][0]["lightning"] is True


def test_every_weights_reader_names_ganedit_import(tmp_path: Path) -> None:
    path = tensor_zip(tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="ganedit import evil.pth evil.safetensors"):
        load_weights(path)
    img = tmp_path / "in" / "a.png"
    img.parent.mkdir()
    write_image(img, np.zeros((8, 8, 3), np.uint8))
    r = CliRunner().invoke(
        cli, ["run", "pix2pix", str(img.parent), str(tmp_path / "o"), "--weights", str(path)]
    )
    assert r.exit_code == 1 and "ganedit import evil.pth" in r.output, r.output


def test_real_omegaconf_hyper_parameters_stay_inert(tmp_path: Path) -> None:
    """A Lightning-style checkpoint pickling real OmegaConf objects (LaMa's best.ckpt holds
    its config this way): lenient mode reads the tensors, every OmegaConf global is inert."""
    if os.environ.get("CI"):
        from omegaconf import OmegaConf  # the test extra provides it
    else:
        OmegaConf = pytest.importorskip("omegaconf").OmegaConf
    cfg = OmegaConf.create({"generator": {"kind": "ffc_resnet", "ngf": 64}, "lr": 1e-3, "l": [1]})
    ckpt = {
        "epoch": 1,
        "pytorch-lightning_version": "1.2.9",
        "hyper_parameters": cfg,
        "state_dict": {"generator.w": torch.arange(4.0)},
        "callbacks": {"ModelCheckpoint": {"best_model_score": torch.tensor(0.5)}},
    }
    path = tmp_path / "best.ckpt"
    torch.save(ckpt, path)
    src = read_checkpoint(path, lenient=True)
    assert "omegaconf.dictconfig.DictConfig" in src.inert and "builtins.dict" in src.inert
    assert list(src.tensors) == ["generator.w"]
    assert torch.equal(src.tensors["generator.w"], torch.arange(4.0))
    with pytest.raises(ImportRefused, match="--lenient"):
        read_checkpoint(path)
