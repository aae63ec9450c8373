"""mypy over ``ganedit/`` and ``plugins/`` (pyproject's ``[tool.mypy]`` files): the public API's
type hints and the built-in plugins' use of them stay consistent (issue 26)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_is_clean_over_the_core_and_the_plugins(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("CI"):
            pytest.fail("mypy is not installed (CI installs it: pip install -e '.[test]')")
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    cmd = [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "no issues found" in done.stdout and "source files" in done.stdout
