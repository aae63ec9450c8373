"""Atomic file writes: a temp file in the target's folder, fsync, then ``os.replace``.

An interrupted process (even SIGKILL) leaves either the old file or the complete new one, never a
truncated file; at worst a hidden ``.<name>.*.ganedit-tmp`` that the folder runner sweeps up
(``<name>`` shortened when the temp name would pass the file system's name limit). The finished
file has the permissions a plain ``open()`` gives under the process umask (0o666 & ~umask),
whatever the writer did to the temp file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TEMP_SUFFIX",
    "atomic_path",
    "atomic_write_bytes",
    "default_file_mode",
    "temp_prefix",
]

TEMP_SUFFIX = ".ganedit-tmp"
#: Characters :func:`tempfile.mkstemp` adds between the prefix and the suffix.
_RANDOM_CHARS = 8


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def temp_prefix(target: Path) -> str:
    """The temp-file prefix for ``target``: ``.<name>.``, with ``<name>`` shortened (on a
    character boundary, marked ``~``) when the temp name would pass the file system's name
    limit, so a file named right up to that limit can still be written."""
    name = target.name
    room = _name_max(target.parent if target.parent.is_dir() else Path("."))
    room -= 2 + _RANDOM_CHARS + len(TEMP_SUFFIX)
    if len(os.fsencode(name)) <= room:
        return f".{name}."
    raw = os.fsencode(name)[: max(1, room - 1)]
    short = raw.decode("utf-8", "ignore") if _is_utf8_prefix(raw) else os.fsdecode(raw)
    while len(os.fsencode(short)) > room - 1:
        short = short[:-1]
    return f".{short}~."


def _is_utf8_prefix(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(raw) - 3  # only a character cut at the end
    return True


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (``os.umask`` sets
    it for a moment, when another thread's new file would get it)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # the brief window stays private rather than world-writable
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 less the process umask."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on clean exit it is fsynced and renamed onto ``path``.

    On an exception the temp file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = temp_prefix(target)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600, and a writer may replace the temp file with one of its own
        # (safetensors does): the finished file gets the mode a plain open() would give
        os.chmod(tmp_path, default_file_mode())
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see module docstring) and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
