"""Issue 13, item 13: a second run into an output folder that a run is still writing is
refused, naming the other run; a lock left by a killed run is stale and taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.infer.run.lock import LOCK_NAME, FolderLock, OutputLocked


def _lock(folder, pid: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"pid": pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00",
           "command": ["ganedit", "run", "other"]}  # fmt: skip
    (folder / LOCK_NAME).write_text(json.dumps(doc))


def test_a_live_run_holding_the_folder_is_named(plugin_path, tmp_path) -> None:
    images(tmp_path / "in", n=1)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(tmp_path / "out", holder.pid)
        result = run_tiny(weights, tmp_path / "in", tmp_path / "out")
        assert result.exit_code == 2, result.output
        assert f"pid {holder.pid}" in result.output and "another ganedit run" in result.output
        assert not (tmp_path / "out" / "img_0.png").exists()
        holder.kill()  # killed, not yet reaped (a zombie): not a running holder any more
        time.sleep(0.2)
        result = run_tiny(weights, tmp_path / "in", tmp_path / "out")
        assert result.exit_code == 0, result.output
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and taken over, then released
    result = run_tiny(weights, tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out" / LOCK_NAME).exists()


def test_lock_in_process(tmp_path) -> None:
    with FolderLock(tmp_path):
        held = json.loads((tmp_path / LOCK_NAME).read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        with pytest.raises(OutputLocked, match=f"pid {os.getpid()}"):
            FolderLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    (tmp_path / LOCK_NAME).write_text("")  # cut short by a crash: unreadable, so stale
    with FolderLock(tmp_path):
        pass


def test_the_lock_is_readable_by_other_users_under_the_umask(tmp_path) -> None:
    """Another user's run must read the lock to name its holder (issue 24: file modes)."""
    import stat

    old = os.umask(0o022)
    try:
        with FolderLock(tmp_path):
            assert stat.S_IMODE((tmp_path / LOCK_NAME).stat().st_mode) == 0o644
    finally:
        os.umask(old)
