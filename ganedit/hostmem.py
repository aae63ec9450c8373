"""Host memory reuse: keep freed blocks in the process instead of returning them to the OS.

glibc serves every allocation above its mmap threshold (128 KiB at first) with a fresh
``mmap`` and returns it with ``munmap`` when freed, so each large activation of a convnet
forward on the CPU is new memory that the kernel must fault in and zero, page by page, on
every call. For SRResNet x4 on a 256x256 input (activations up to 128 x 512 x 512 floats,
134 MB) that is a large share of the time: one forward on the project's 2-core CPU measured
0.81 s with glibc's defaults and 0.58 s with the settings below (1 thread: 1.41 s and 1.11 s),
the same pixels.

:func:`keep_freed_memory` raises the mmap threshold and the trim threshold (``mallopt``), so
large blocks come from the heap and stay there for the next call, and puts every thread on
the main heap (``M_ARENA_MAX=1``: the model pool's workers allocate large blocks, which a
per-thread arena would ``mmap`` again). The cost: the process keeps its peak heap until it
exits rather than shrinking after each call. It changes nothing outside glibc (macOS,
Windows, musl): there it returns ``None``.

Used by ``ganedit run`` on the CPU (``--no-heap-reuse`` turns it off), and by
:func:`ganedit.run_folder` when asked (``heap_reuse=True``): a library's caller decides
whether its whole process keeps its peak heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory", "keep_freed_memory_applied"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_APPLIED: str | None = None


def keep_freed_memory(threshold: int = 1 << 30) -> str | None:
    """Keep freed host memory for reuse (module docstring); idempotent.

    Args:
        threshold: blocks up to this many bytes come from the heap (larger ones are still
            mapped and unmapped on their own).

    Returns:
        A one-line description of what was set, or ``None`` where glibc is absent or refused.
    """
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    ok = (
        mallopt(_M_MMAP_THRESHOLD, int(threshold)) == 1
        and mallopt(_M_TRIM_THRESHOLD, 2 * int(threshold)) == 1
        and mallopt(_M_ARENA_MAX, 1) == 1
    )
    if not ok:
        return None
    _APPLIED = f"glibc mallopt: mmap threshold {threshold >> 20} MiB, trim threshold {threshold >> 19} MiB, one arena"
    return _APPLIED


def keep_freed_memory_applied() -> bool:
    """True once :func:`keep_freed_memory` took effect in this process (measurements that
    depend on it key on this)."""
    return _APPLIED is not None
