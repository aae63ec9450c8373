"""Atomic writes: complete or absent, never truncated; new files follow the umask."""

from __future__ import annotations

import os
import stat

import pytest

from ganedit.io.atomic import TEMP_SUFFIX, atomic_path, atomic_write_bytes


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(target, b"old contents")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["a.bin"]


def test_error_inside_keeps_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"keep me")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"keep me"
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_follow_the_umask_not_mkstemp(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = atomic_write_bytes(tmp_path / f"f{umask:o}.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_writer_that_recreates_the_temp_file_still_gets_the_umask_mode(tmp_path, umask):
    """safetensors (and others) replace the temp file with a 0600 one of their own."""
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "w.bin") as tmp:
            tmp.unlink()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b"tensors")
            os.close(fd)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "w.bin").stat().st_mode) == 0o666 & ~umask


def test_exported_weights_are_readable_by_others_under_umask_022(tmp_path):
    import torch

    from ganedit.weights import save_weights

    old = os.umask(0o022)
    try:
        path = save_weights(tmp_path / "g.safetensors", {"w": torch.zeros(3)}, {"family": "x"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.with_suffix(".json").stat().st_mode) == 0o644


def test_a_full_disk_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    import errno

    target = tmp_path / "m.json"
    target.write_bytes(b"old")

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(type(target), "write_bytes", full)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
