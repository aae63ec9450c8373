"""Shared test fixtures: the fixture plugin distributions, a clean plugin state per test, and
small image writers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from imagefiles import random_image, write_test_image

from ganedit.plugins import reset_plugins

FIXTURES = Path(__file__).parent / "fixtures"
PLUGIN_DIR = FIXTURES / "plugins"  # ganedit-tiny (good) + four broken distributions
CONFLICT_DIR = FIXTURES / "conflicts"  # ganedit-tiny-clash: taken family and command names

PLUGIN_ENV = (
    "GANEDIT_LOAD_PLUGINS",
    "GANEDIT_DISABLE_PLUGINS",
    "GANEDIT_STRICT_PLUGINS",
    "GANEDIT_TRACE_PLUGINS",
)


REAL_HOME = Path.home()  # the user's home, read before the session fixture hides it
HOME_ENV = ("GANEDIT_CACHE_DIR", "HOME", "XDG_CACHE_HOME")


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The whole session (and every subprocess, which inherits the environment) keeps its
    caches in a temporary folder, never in the user's ``~/.cache``: ``GANEDIT_CACHE_DIR``
    (the measurement cache, :func:`ganedit.formats.cache_path`), and ``HOME`` and
    ``XDG_CACHE_HOME`` for anything that still falls back to the home folder (a helper that
    drops ``GANEDIT_*`` variables, or a library's own cache). Yields the temporary home."""
    import os

    root = tmp_path_factory.mktemp("private-home")
    values = {
        "GANEDIT_CACHE_DIR": root / "ganedit-cache",
        "HOME": root / "home",
        "XDG_CACHE_HOME": root / "home" / ".cache",
    }
    old = {k: os.environ.get(k) for k in HOME_ENV}
    for key, path in values.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[key] = str(path)
    yield values["HOME"]
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def real_home() -> Path:
    """The user's home folder, as it was before :func:`_private_home` hid it."""
    return REAL_HOME


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends with no plugins loaded and no plugin switches set."""
    for var in PLUGIN_ENV:
        monkeypatch.delenv(var, raising=False)
    reset_plugins()
    yield
    reset_plugins()


def _add_path(monkeypatch: pytest.MonkeyPatch, *dirs: Path) -> None:
    for d in reversed(dirs):
        monkeypatch.syspath_prepend(str(d))
    importlib.invalidate_caches()
    reset_plugins()


@pytest.fixture
def plugin_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the fixture plugin distributions on ``sys.path`` (found through their real
    ``*.dist-info/entry_points.txt``, like pip-installed plugins)."""
    _add_path(monkeypatch, PLUGIN_DIR)
    return PLUGIN_DIR


@pytest.fixture
def conflict_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture plugins plus ``ganedit-tiny-clash``, which reuses taken names."""
    _add_path(monkeypatch, PLUGIN_DIR, CONFLICT_DIR)
    return CONFLICT_DIR


@pytest.fixture
def subprocess_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, str]]:
    """An environment for ``python -m ganedit`` with the fixture plugins importable."""
    import os

    def make(*dirs: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV}
        parts = [str(d) for d in (dirs or (PLUGIN_DIR,))]
        if env.get("PYTHONPATH"):
            parts.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(parts)
        env.update(extra)
        return env

    return make


@pytest.fixture
def make_images(tmp_path: Path) -> Callable[..., list[Path]]:
    """``make_images("in", n=3, size=(16, 24), ext=".png", c=3, dtype=np.uint8)`` writes ``n``
    random images under ``tmp_path/<folder>`` and returns their paths."""

    def make(
        folder: str = "in",
        n: int = 3,
        size: tuple[int, int] = (16, 24),
        ext: str = ".png",
        c: int = 3,
        dtype: type = np.uint8,
    ) -> list[Path]:
        out = []
        for i in range(n):
            img = random_image(*size, c=c, dtype=dtype, seed=i)
            out.append(write_test_image(tmp_path / folder / f"img_{i:02d}{ext}", img))
        return out

    return make
