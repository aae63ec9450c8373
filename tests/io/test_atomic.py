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
