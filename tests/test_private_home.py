"""The test suite never writes to the user's home (``~/.cache`` included): the session fixture
in ``conftest.py`` points ``GANEDIT_CACHE_DIR``, ``HOME`` and ``XDG_CACHE_HOME`` at a temporary
folder, and the helpers that build a subprocess's environment keep the cache folder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ganedit import measured
from ganedit.io import write_image

ROOT = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"_h_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_session_hides_the_real_home(_private_home: Path, real_home: Path) -> None:
    assert Path.home() == _private_home != real_home
    cache = measured.cache_path()
    assert not cache.is_relative_to(real_home), cache
    assert Path(os.environ["XDG_CACHE_HOME"]).is_relative_to(_private_home)


def test_without_the_variable_the_cache_follows_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback the fixture guards against: no GANEDIT_CACHE_DIR means ``$HOME/.cache``."""
    monkeypatch.delenv("GANEDIT_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert measured.cache_path() == tmp_path / ".cache" / "ganedit" / "measurements.json"


def test_subprocess_helpers_keep_the_session_cache(
    subprocess_env: Callable[..., dict[str, str]],
) -> None:
    want = os.environ["GANEDIT_CACHE_DIR"]
    rel = _module(ROOT / "tests" / "cli_runs.py")
    assert subprocess_env()["GANEDIT_CACHE_DIR"] == want
    assert rel.subprocess_env()["GANEDIT_CACHE_DIR"] == want  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_cli_run_writes_nothing_under_home(tmp_path: Path) -> None:
    """``ganedit run`` measures the memory format and remembers it: in the session's cache,
    not under the (fake) home of a child started the way tests/cli_runs.py starts one
    (every other ``GANEDIT_*`` variable dropped)."""
    home = tmp_path / "home"
    home.mkdir()
    src = tmp_path / "in"
    write_image(src / "a.png", np.full((12, 12, 3), 100, np.uint8))
    rel = _module(ROOT / "tests" / "cli_runs.py")
    env = rel.subprocess_env(HOME=str(home))  # type: ignore[attr-defined]
    env.pop("XDG_CACHE_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-m", "ganedit", "run", "srgan", str(src), str(tmp_path / "out"),
         "--device", "cpu", "--memory-format", "auto"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "a.png").is_file()
    assert _files(home) == []
    remembered = json.loads(measured.cache_path().read_text(encoding="utf-8"))
    assert any("|srgan/" in key for key in remembered), list(remembered)
