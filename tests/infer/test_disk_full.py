"""Issue 24: with the output on a full file system every file fails with its reason (naming
its output), the batch goes on and reports, the summary prints, the exit code is 1, and a
manifest that cannot be written is said once, naming its path.

Two ways to fill a disk: a real 64 KiB tmpfs filled to the last byte (needs root; CI runs as
root, so there it must work), and ENOSPC injected at the atomic-write layer (runs anywhere)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import events, images, run_tiny, save_tiny_weights

import ganedit.io.atomic as atomic
from ganedit.infer.run.lock import LOCK_NAME, FolderLock, OutputLocked


@contextlib.contextmanager
def _full_tmpfs(where: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at ``where``, filled up: no byte left for any file."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root and must mount a tiny tmpfs for the disk-full test")
        pytest.skip("mounting a tiny tmpfs needs root")
    where.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
        os.close(fd)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _check_full_disk_report(result, src: Path, out: Path, n: int) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"done 0, skipped 0, failed {n}" in result.stdout
    for i in range(n):  # every file fails naming its output and the reason
        line = next(ln for ln in result.stderr.splitlines() if f"img_{i}.png:" in ln)
        assert str(out / f"img_{i}.png") in line and "No space left on device" in line
    manifest = str(out / "ganedit-run.json")
    assert result.output.count(manifest) == 1, result.output  # said once, naming its path
    assert "manifest could not be written" in result.stderr


def test_a_full_tmpfs_fails_every_file_and_reports(plugin_path, tmp_path) -> None:
    src = tmp_path / "in"
    images(src, n=3)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    with _full_tmpfs(tmp_path / "full") as disk:
        out = disk / "out"
        result = run_tiny(weights, src, out)
        _check_full_disk_report(result, src, out, 3)
        assert sorted(os.listdir(out)) == []  # no temp file, no lock left behind
        # the lock could only be taken empty; a second run on the full disk still works
        again = run_tiny(weights, "--json", src, out)
        assert again.exit_code == 1
        end = events(again.stdout)[-1]
        assert end["manifest"] is None and "ganedit-run.json" in end["manifest_error"]
        assert len(end["failed"]) == 3


def test_a_lock_on_a_full_disk_is_empty_but_still_held(tmp_path) -> None:
    with _full_tmpfs(tmp_path / "full") as disk:
        with FolderLock(disk):
            assert (disk / LOCK_NAME).read_bytes() == b""
            with pytest.raises(OutputLocked, match="another ganedit run"):
                FolderLock(disk).acquire()
        assert not (disk / LOCK_NAME).exists()


def test_an_emptied_lock_of_a_live_run_is_not_taken_over(tmp_path) -> None:
    with FolderLock(tmp_path):
        (tmp_path / LOCK_NAME).write_bytes(b"")  # what a full disk leaves
        with pytest.raises(OutputLocked):
            FolderLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()


def _disk_filling_after(monkeypatch, folder: Path, room: int) -> None:
    """Atomic writes under ``folder`` fail with ENOSPC after the first ``room`` ones."""
    real = atomic.atomic_write_bytes
    used = [0]

    def write(path, data):
        if Path(path).resolve().is_relative_to(folder.resolve()):
            if used[0] >= room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
            used[0] += 1
        return real(path, data)

    for module in ("ganedit.infer.run.outputs", "ganedit.io.manifest"):
        monkeypatch.setattr(f"{module}.atomic_write_bytes", write)


def test_enospc_at_the_atomic_layer_fails_each_file_and_keeps_the_batch(
    plugin_path, tmp_path, monkeypatch
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=3)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    _disk_filling_after(monkeypatch, out, 0)
    result = run_tiny(weights, src, out)
    _check_full_disk_report(result, src, out, 3)
    assert not [p for p in out.rglob("*") if p.name != LOCK_NAME]


def test_a_disk_that_fills_during_the_run(plugin_path, tmp_path, monkeypatch) -> None:
    """The first output fits, the rest do not, nor the manifest: the written output stays,
    the others fail, the run reports all three."""
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=3, size=(8, 8))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    _disk_filling_after(monkeypatch, out, 1)
    result = run_tiny(weights, "--jobs", "1", src, out)
    assert result.exit_code == 1, result.output
    assert "done 1, skipped 0, failed 2" in result.stdout
    assert (out / "img_0.png").is_file() and not (out / "img_1.png").exists()
    assert result.output.count(str(out / "ganedit-run.json")) == 1
