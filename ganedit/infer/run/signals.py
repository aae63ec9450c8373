"""Ctrl-C and SIGTERM during a folder run: stop taking work, finish cleanly, say which signal.

:func:`graceful_stop` installs handlers (main thread only) that do not raise: the first
SIGINT or SIGTERM sets :attr:`StopFlag.signum`, and the pipeline stops starting new files,
finishes the writes in flight, writes the manifest and returns; the command line then exits
``128 + signum`` (130 for SIGINT, 143 for SIGTERM). A second signal raises
:class:`KeyboardInterrupt` at once (the manifest is still written on the way out). Handlers
that an application installed itself (anything but Python's defaults) are left alone.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["RunInterrupted", "StopFlag", "exit_on_sigterm", "graceful_stop"]


def exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM handler for the command line: exit ``128 + signum`` (143) through the normal
    clean-up (``finally`` blocks, locks released) instead of dying at once. A folder run
    replaces it by its graceful handler while it runs."""
    raise SystemExit(128 + signum)


class RunInterrupted(KeyboardInterrupt):
    """A folder run stopped by SIGINT or SIGTERM after finishing cleanly.

    Attributes:
        signum: the signal (``signal.SIGINT`` or ``signal.SIGTERM``).
        report: the :class:`~ganedit.infer.run.report.RunReport` of what was done.
    """

    def __init__(self, signum: int, report: Any) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.report = report

    @property
    def exit_code(self) -> int:
        """``128 + signum``: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + int(self.signum)


class StopFlag:
    """Set by the first signal; read by the pipeline between files."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


def _replaceable(sig: int) -> bool:
    current = signal.getsignal(sig)
    if sig == signal.SIGINT:
        return current is signal.default_int_handler
    return current in (signal.SIG_DFL, None, exit_on_sigterm)


@contextlib.contextmanager
def graceful_stop() -> Iterator[StopFlag]:
    """Handle SIGINT and SIGTERM gracefully while the block runs (module docstring)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if flag.signum is not None:
            raise KeyboardInterrupt
        flag.signum = signum

    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if _replaceable(sig):
            saved[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
    try:
        yield flag
    finally:
        for num, old in saved.items():
            signal.signal(num, old)
