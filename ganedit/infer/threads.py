"""How a folder run spreads the model over the CPU cores: measured, not assumed.

Two ways to use ``n`` cores: one image at a time with ``n`` intra-op threads (``"1x{n}"``),
or ``w`` images at once, each in its own worker thread with ``n // w`` intra-op threads
(``"{w}x{n//w}"``; PyTorch releases the GIL inside its kernels). Which is faster depends on
the network, the image size, the heap and the machine. On the project's 2-core CPU, with
glibc's default heap, two SRResNet x4 forwards of 256x256 inputs side by side with one thread
each were 1.12x the throughput of one forward with two threads, while at 96x96 one two-thread
forward was 1.07x faster; with the heap reuse of :mod:`ganedit.hostmem` (which folder runs
turn on) one two-thread worker wins at 256x256 too (1.23 s against 1.41 s per two images).

:func:`choose_threads` times the candidates on a probe image of the size the run will see
(``n`` calls of :meth:`~ganedit.infer.editor.Editor.edit_pixels` each, in the calling
thread for one worker as the run does; one warm-up and one timed round)
through :func:`ganedit.formats.measured_choice`, so the answer is remembered per machine and
probe size in ``~/.cache/ganedit/measurements.json``. Only CPU runs choose; a
GPU run keeps one worker. An option fixes a layout: ``threads="4"`` (one worker, 4 threads) or
``threads="2x1"``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from ganedit.formats import measured_choice, net_digest, recalled, to_format
from ganedit.hostmem import keep_freed_memory_applied
from ganedit.infer.options import check_threads
from ganedit.infer.autotune import probe_inputs

__all__ = [
    "MEASURE_MIN_IMAGES",
    "PROBE_SIDE",
    "ThreadChoice",
    "candidates",
    "choose_threads",
    "cores",
    "editor_probe",
    "using_threads",
]

#: Default side of the probe image (rounded up to the family's size multiple).
PROBE_SIDE = 96
#: Runs with fewer images keep the default layout unless one was measured before: the probe
#: runs ``2 * len(candidates) * cores`` forwards, and a better layout saves ~10% of a run.
MEASURE_MIN_IMAGES = 64


@dataclass(frozen=True)
class ThreadChoice:
    """``workers`` images at once, each with ``threads`` intra-op threads, and why.

    Attributes:
        workers: model calls in flight at once (>= 1).
        threads: ``torch.set_num_threads`` during the run (>= 1).
        source: ``"measured"``, ``"cached"``, ``"requested"`` or ``"device"`` (not a CPU run).
        seconds: the best probe time per candidate (empty when not measured).
    """

    workers: int
    threads: int
    source: str
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.workers}x{self.threads}"

    def describe(self) -> str:
        """One line for notes and the manifest, e.g. ``2x1 (measured: 2x1 0.41 s, 1x2 0.46 s)``."""
        if not self.seconds:
            return f"{self.name} ({self.source})"
        times = ", ".join(f"{k} {v:.3g} s" for k, v in sorted(self.seconds.items()))
        return f"{self.name} ({self.source}: {times})"


def cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def candidates(n: int) -> list[str]:
    """``1xn`` and ``wx(n//w)`` for ``w`` in 2, 4 (up to ``n``), e.g. ``["1x2", "2x1"]``."""
    return [f"{w}x{n // w}" for w in (1, 2, 4) if w <= n]


@contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block, the previous count restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def editor_probe(editor: Any, side: int = PROBE_SIDE) -> dict[str, torch.Tensor]:
    """:func:`ganedit.infer.autotune.probe_inputs` of ``side`` for ``editor``, in its memory
    format."""
    inputs = probe_inputs(editor.family, editor.config, editor.device, side)
    return {k: to_format(v, editor.memory.channels_last) for k, v in inputs.items()}


def _job(editor: Any, total: int, side: int) -> Any:
    """``job(candidate)``: ``total`` calls of :meth:`Editor.edit_pixels` on a ``side`` x
    ``side`` uint8 probe (the folder run's whole per-image work on the device: layout,
    model, quantisation), spread over the candidate's workers."""
    inputs = editor_probe(editor, side)
    pixels = (inputs["image"].float() * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    pixels = pixels.cpu().contiguous()
    mask = inputs["mask"].cpu() > 0.5 if "mask" in inputs else None

    def forwards(count: int) -> None:
        for _ in range(count):
            editor.edit_pixels(pixels, mask)

    def job(name: str) -> None:
        workers, threads = (int(v) for v in name.split("x"))
        with using_threads(threads):
            if workers == 1:  # as the run does it: in the calling thread
                forwards(total)
                return
            pool = [threading.Thread(target=forwards, args=(total // workers,))
                    for _ in range(workers)]  # fmt: skip
            for t in pool:
                t.start()
            for t in pool:
                t.join()

    return job


def choose_threads(
    editor: Any, requested: str = "auto", side: int = PROBE_SIDE, images: int | None = None
) -> ThreadChoice:
    """The thread layout for a folder run with ``editor`` (module docstring).

    Args:
        editor: the loaded :class:`~ganedit.infer.editor.Editor`.
        requested: ``"auto"`` (measure, or recall), ``"T"`` or ``"WxT"``.
        side: the probe's side: the size of the images the run will see (the answer
            depends on it, so it is part of the cache key).
        images: how many images the run has (``None``: unknown). A run of fewer than
            :data:`MEASURE_MIN_IMAGES` does not measure (the probe would cost more than the
            best layout could save): it recalls an earlier answer, or keeps one worker on
            every core.
    """
    requested = check_threads(requested)
    if requested != "auto":
        workers, threads = (int(v) for v in requested.split("x"))
        return ThreadChoice(workers, threads, "requested")
    n = cores()
    if editor.device.type != "cpu" or n == 1:
        return ThreadChoice(1, torch.get_num_threads(), "device" if n > 1 else "one core")
    options = candidates(n)
    compiled = "compiled" if hasattr(editor.generator, "_orig_mod") else "eager"
    heap = "reuse" if keep_freed_memory_applied() else "default-heap"
    key = (
        f"threads-run|{editor.family.name}/{editor.generator_name}/{net_digest(editor.generator)}"
        f"|{editor.precision.name}|{editor.memory.name}|{compiled}|{heap}|{side}px"
    )
    if images is not None and images < MEASURE_MIN_IMAGES:
        known = recalled(key, options, editor.device)
        if known is None:
            return ThreadChoice(1, n, f"default: {images} image(s), too few to measure")
        workers, threads = (int(v) for v in known[0].split("x"))
        return ThreadChoice(workers, threads, known[1], known[2])
    job = _job(editor, n, side)
    try:
        best, source, seconds = measured_choice(key, options, job, editor.device, runs=1)
    except (RuntimeError, ValueError, MemoryError):  # the images will fail with the reason
        return ThreadChoice(1, n, "probe failed")
    workers, threads = (int(v) for v in best.split("x"))
    return ThreadChoice(workers, threads, source, seconds)
