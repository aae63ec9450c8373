"""The compile option of a folder run (:mod:`ganedit.infer.compiling`): off by default, a failed
compile stays eager with a note, ``auto`` keeps the faster and remembers it, and a real
compile (where a C++ compiler exists) gives the eager pixels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import ganedit
from ganedit import formats
from ganedit.infer import compiling
from ganedit.infer.options import check_compile
from ganedit.testing import TinyUpscale


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(formats, "_SEEN", {})
    return tmp_path / "cache" / "measurements.json"


class _Clock:
    """A fake clock for :func:`ganedit.formats._measure`: time passes only when told to, so a
    measured choice does not race a busy machine's wall clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Wrapped(torch.nn.Module):
    """A stand-in for torch.compile's result: the same module, ``delay`` s slower per call on
    the fake clock."""

    def __init__(self, net: torch.nn.Module, delay: float, calls: list[int], clock: _Clock) -> None:
        super().__init__()
        self._orig_mod, self.delay, self.calls, self.clock = net, delay, calls, clock

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(1)
        self.clock.now += self.delay
        return self._orig_mod(x)


def _fake_compile(monkeypatch: pytest.MonkeyPatch, delay: float) -> list[int]:
    calls: list[int] = []
    clock = _Clock()
    monkeypatch.setattr(formats, "_clock", clock)
    monkeypatch.setattr(torch, "compile", lambda net, **kw: _Wrapped(net, delay, calls, clock))
    return calls


def _editor() -> ganedit.infer.editor.Editor:
    return ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format="contiguous")


@pytest.mark.parametrize(
    ("given", "want"), [("off", "off"), ("AUTO", "auto"), (True, "on"), (False, "off")]
)
def test_compile_option_spellings(given: object, want: str) -> None:
    assert check_compile(given) == want
    with pytest.raises(ValueError, match="compile must be one of off, auto, on"):
        check_compile("yes")


def test_off_touches_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_compile(monkeypatch, 0.0)
    ed = _editor()
    net = ed.generator
    assert compiling.choose_compile(ed).describe() == "eager (off)"
    assert ed.generator is net and not calls


def test_auto_keeps_eager_when_compiled_is_slower_and_remembers(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_compile(monkeypatch, 0.05)
    ed = _editor()
    net = ed.generator
    got = compiling.choose_compile(ed, "auto")
    assert (got.name, got.source) == ("eager", "measured") and ed.generator is net
    assert got.seconds == pytest.approx({"eager": 0.0, "compiled": 0.05}) and calls
    assert any(k.startswith("compile|tiny-upscale/") for k in json.loads(cache.read_text()))
    formats._SEEN.clear()
    calls.clear()
    again = compiling.choose_compile(_editor(), "auto")
    assert (again.name, again.source) == ("eager", "cached") and not calls  # no compile at all


def test_auto_and_on_use_the_compiled_module(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_compile(monkeypatch, 0.0)
    monkeypatch.setattr(formats, "_measure", lambda *args: {"eager": 2.0, "compiled": 1.0})
    ed = _editor()
    assert compiling.choose_compile(ed, "auto").name == "compiled"
    assert isinstance(ed.generator, _Wrapped)
    ed2 = _editor()
    assert compiling.choose_compile(ed2, "on").describe() == "compiled (requested)"
    assert isinstance(ed2.generator, _Wrapped)


def test_a_failing_compile_stays_eager_and_the_run_says_why(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("InductorError: no C++ compiler found\nmore detail")

    monkeypatch.setattr(torch, "compile", lambda net, **kw: Broken(net))
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), np.full((12, 10, 3), 77, np.uint8))
    report = ganedit.run_folder(
        TinyUpscale, src, tmp_path / "out", weights=False, device="cpu", progress=False,
        compile="on",
    )  # fmt: skip
    assert len(report.done) == 1 and not report.failed
    (note,) = [w for w in report.warnings if "torch.compile failed" in w]
    assert "no C++ compiler found" in note and "more detail" not in note
    doc = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())
    assert doc["parameters"]["compile"].startswith("eager (torch.compile failed")


@pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile on the CPU needs g++")
def test_a_real_compile_gives_the_eager_pixels(cache: Path) -> None:
    ed = _editor()
    img = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    want = ed(img)
    got = compiling.choose_compile(ed, "on")
    if got.source == "failed":  # a compiler without what Inductor needs: the fallback held
        pytest.skip(str(got.note))
    assert got.name == "compiled", got.describe()
    out = ed(img)
    assert out.shape == want.shape and np.abs(out.astype(int) - want.astype(int)).max() <= 1
