"""The output-folder lock: one run writes into a folder at a time.

A run holds ``OUTPUT/.ganedit-run.lock`` (``.ganedit-run.rank<r>.lock`` for torchrun ranks
above 0) while it writes: a JSON file with the run's ``pid``, ``host``, ``started`` (UTC) and
command line. It is created complete in one step (written beside, then hard-linked into place,
which fails when a lock exists), and removed when the run ends, also on Ctrl-C or SIGTERM.

A second run into the folder is refused with a message naming the holder. A lock left by a
run that was killed (``kill -9``, a crash, a power cut) does not stay stuck: when its host is
this machine and its pid is no longer running (or is not a ganedit process any more), it is
stale and taken over. A lock from another host cannot be checked; the message says to delete
it when no such run is going on. The holder also keeps an ``flock`` on the file, so a lock that
could not be filled in (a full disk leaves it empty) still tells a live run from a dead one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from ganedit.io.atomic import default_file_mode

__all__ = ["LOCK_NAME", "FolderLock", "OutputLocked"]

LOCK_NAME = ".ganedit-run.lock"


class OutputLocked(ValueError):
    """Another run is writing into the output folder (a usage error)."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    try:  # a killed process its parent has not reaped yet (a zombie) is not running
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()[19]


class FolderLock:
    """Hold the lock of an output folder (module docstring).

    Args:
        folder: the output folder (it must exist).
        name: the lock file's name.
    """

    def __init__(self, folder: Path, name: str = LOCK_NAME) -> None:
        self.path = folder / name
        self.held = False
        self._fd = -1

    def _content(self) -> bytes:
        doc = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "process_start": _process_start(os.getpid()),
            "command": [os.fsdecode(a) for a in sys.argv],
        }
        return (json.dumps(doc, ensure_ascii=True) + "\n").encode()

    def _holder(self) -> dict[str, Any] | None:
        """The lock's content (``{}`` when unreadable), or ``None`` when there is none."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _flocked(self) -> bool:
        """True while a live process holds the lock file's ``flock`` (a run of this machine)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def _stale(self, holder: dict[str, Any]) -> bool:
        if not holder:  # unreadable or empty (cut short, or written on a full disk)
            return not self._flocked()
        if holder.get("host") != socket.gethostname():
            return False  # another host's cannot be checked
        pid = int(holder.get("pid") or 0)
        if not _pid_alive(pid):
            return True
        start = holder.get("process_start")
        return start is not None and _process_start(pid) not in (None, start)

    def acquire(self) -> None:
        """Take the lock, taking over a stale one.

        Raises:
            OutputLocked: a live run holds it (the message names it).
        """
        fd, tmp = tempfile.mkstemp(prefix=".ganedit-lock.", dir=self.path.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held while the run lives: tells a live holder
            os.fchmod(fd, default_file_mode())  # readable by the others who may name it
            try:
                os.write(fd, self._content())
            except OSError as exc:  # a full disk: the lock stays empty, the flock tells
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                os.ftruncate(fd, 0)
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    holder = self._holder()
                    if holder is None:
                        continue  # released meanwhile: try again
                    if not self._stale(holder):
                        raise OutputLocked(self._message(holder)) from None
                    if self._holder() == holder:  # still the stale one: take it over
                        with contextlib.suppress(OSError):
                            os.unlink(self.path)
                    continue
                self.held, self._fd, fd = True, fd, -1
                return
            raise OutputLocked(self._message(self._holder() or {}))
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if fd >= 0:
                os.close(fd)

    def _message(self, holder: dict[str, Any]) -> str:
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
            if holder
            else "an unknown run"
        )
        cmd = " ".join(map(str, holder.get("command") or []))
        return (
            f"another ganedit run is writing into {self.path.parent} ({who}"
            f"{': ' + cmd if cmd else ''}); wait for it to finish or choose another output "
            f"folder (if no such run is going on, delete {self.path})"
        )

    def release(self) -> None:
        """Remove the lock if this run holds it."""
        if self.held:
            self.held = False
            with contextlib.suppress(OSError):
                mine = os.fstat(self._fd)
                now = os.stat(self.path)
                if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):  # not taken over
                    os.unlink(self.path)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
