"""How a folder run spreads the model over the CPU cores.

Two ways to use ``n`` cores: one image at a time with ``n`` intra-op threads (``"1x{n}"``,
the default), or ``w`` images at once, each in its own worker thread with ``n // w`` intra-op
threads (``"{w}x{n//w}"``; PyTorch releases the GIL inside its kernels), which the
``threads`` option asks for (``"2x1"``).

``auto`` is one image at a time on every core. An earlier version measured the layouts on a
probe of the run's image size and kept the faster, but on the only machine it ever ran on
(the project's 2-core AMD EPYC, with the heap reuse of :mod:`ganedit.hostmem`) it picked that
default every time (srgan x4 at 256 px: 1.17 s per two images as ``1x2`` against 1.32 s as
``2x1``), so the probe cost time and code and gained nothing; it was removed. The pooled
layouts stay an option for machines where a user measures them faster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from ganedit.infer.options import check_threads

__all__ = ["ThreadChoice", "choose_threads", "cores", "using_threads"]


@dataclass(frozen=True)
class ThreadChoice:
    """``workers`` images at once, each with ``threads`` intra-op threads, and why.

    Attributes:
        workers: model calls in flight at once (>= 1).
        threads: ``torch.set_num_threads`` during the run (>= 1).
        source: ``"default"`` (auto), ``"requested"`` or ``"device"`` (not a CPU run).
    """

    workers: int
    threads: int
    source: str

    @property
    def name(self) -> str:
        return f"{self.workers}x{self.threads}"

    def describe(self) -> str:
        """One line for the manifest, e.g. ``1x2 (default)``."""
        return f"{self.name} ({self.source})"


def cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block, the previous count restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def choose_threads(editor: Any, requested: str = "auto") -> ThreadChoice:
    """The thread layout for a folder run with ``editor`` (module docstring).

    Args:
        editor: the loaded :class:`~ganedit.infer.editor.Editor` (its device).
        requested: ``"auto"`` (one worker on every core), ``"T"`` or ``"WxT"``.
    """
    requested = check_threads(requested)
    if requested != "auto":
        workers, threads = (int(v) for v in requested.split("x"))
        return ThreadChoice(workers, threads, "requested")
    if editor.device.type != "cpu":
        return ThreadChoice(1, torch.get_num_threads(), "device")
    return ThreadChoice(1, cores(), "default")
