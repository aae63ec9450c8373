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
    (the measurement cache, :func:`ganedit.measured.cache_path`), and ``HOME`` and
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


@pytest.fixture
def formats_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty measurement cache (:mod:`ganedit.measured`) under ``tmp_path``, nothing
    remembered in this process either; returns the cache file's path (not yet written)."""
    from ganedit import measured

    monkeypatch.setenv("GANEDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(measured, "_SEEN", {})
    return tmp_path / "cache" / "measurements.json"


@pytest.fixture
def bf16_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the CPU has bf16 instructions (the emulated kernels give the same numbers)."""
    monkeypatch.setattr("ganedit.devices.cpu_half_precisions", lambda: ("bf16",))


@pytest.fixture
def fp32_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the CPU has no half-precision instructions: ``auto`` precision is fp32 unmeasured."""
    monkeypatch.setattr("ganedit.devices.cpu_half_precisions", lambda: ())


@pytest.fixture
def fake_timings(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """``ran = fake_timings("bf16")`` replaces the format measurement: every candidate's job
    still runs once, in order, and is appended to ``ran``; the candidates of precision
    ``"bf16"`` (``"bf16"``, ``"bf16/<memory format>"``) time 0.1 s, the others 0.3 s, and a
    contiguous layout 0.01 s more than channels_last."""
    from ganedit import measured

    def install(fast: str) -> list[str]:
        ran: list[str] = []

        def measure(job, candidates, device, runs=2):
            for c in candidates:
                job(c)
                ran.append(c)
            return {
                c: (0.1 if c.split("/")[0] == fast else 0.3) + 0.01 * ("contig" in c)
                for c in candidates
            }

        monkeypatch.setattr(measured, "_measure", measure)
        return ran

    return install


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op torch thread for the test: on a busy 2-core machine two threads
    spin-wait each other (LaMa's forward: 0.6 s with one, 10 s with two under a load of 15)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
