"""Heap reuse (:mod:`ganedit.hostmem`) is opt-in for library callers and on for ``ganedit
run``: it changes the whole process for good."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ganedit
from ganedit.cli import cli
from ganedit.infer.run import runner
from ganedit.testing import TinyUpscale


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    seen: list[int] = []
    monkeypatch.setattr(runner, "keep_freed_memory", lambda: seen.append(1) or "kept (test)")
    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(tmp_path / "cache"))
    return seen


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    ganedit.write_image(src / "a.png", np.full((8, 8, 3), 90, np.uint8))
    return src


def test_library_runs_leave_the_heap_alone_unless_asked(tmp_path: Path, calls: list[int]) -> None:
    src = _folder(tmp_path)
    common = {"weights": False, "device": "cpu", "progress": False}
    ganedit.run_folder(TinyUpscale, [src], tmp_path / "a", **common)
    assert calls == []
    doc = json.loads((tmp_path / "a" / "ganedit-run.json").read_text())
    assert doc["parameters"]["host_memory"] == "system default"
    ganedit.run_folder(TinyUpscale, [src], tmp_path / "b", heap_reuse=True, **common)
    assert calls == [1]
    doc = json.loads((tmp_path / "b" / "ganedit-run.json").read_text())
    assert doc["parameters"]["host_memory"] == "kept (test)"


@pytest.mark.parametrize(("flag", "want"), [([], [1]), (["--no-heap-reuse"], [])])
def test_ganedit_run_turns_it_on_and_the_flag_off(
    tmp_path: Path, calls: list[int], flag: list[str], want: list[int]
) -> None:
    src = _folder(tmp_path)
    args = ["run", "srgan", str(src), str(tmp_path / "out"), "--scale",
            "2", "--device", "cpu", *flag]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert calls == want
