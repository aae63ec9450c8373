"""Fixtures of the ``ganedit serve`` tests: a server over a temporary root with the tiny
families of ``ganedit.testing`` and the third-party fixture plugins on the path, and Debian's
chromium driven by Playwright (helpers in :mod:`serving`)."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import (
    CHROMIUM,
    SERVE_PLUGINS,
    THIRD_PARTY,
    VERSIONS,
    Server,
    need,
    require_extra,
    start_server,
)

from ganedit.plugins import reset_plugins


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A server over ``tmp_path/root`` with the tiny and third-party fixture families."""
    require_extra()
    for d in (THIRD_PARTY, SERVE_PLUGINS):
        monkeypatch.syspath_prepend(str(d))
    importlib.invalidate_caches()
    reset_plugins()
    root = tmp_path / "root"
    root.mkdir()
    srv = start_server(root, max_upload_mb=1)
    yield srv
    srv.server.should_exit = True
    srv.thread.join(10)
    srv.app.state.close()


# ------------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (``executable_path``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        need("playwright", str(exc))
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        need("chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from importlib.metadata import version

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        VERSIONS["chromium"] = b.version
        VERSIONS["playwright"] = version("playwright")
        print(
            f"browser: chromium {b.version}, playwright {VERSIONS['playwright']}", file=sys.stderr
        )
        yield b
        b.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if VERSIONS:
        terminalreporter.write_line(
            f"ganedit serve browser tests: chromium {VERSIONS['chromium']}, "
            f"playwright {VERSIONS['playwright']}"
        )
