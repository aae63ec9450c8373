"""What the benchmarks print about the machine they ran on (shared by every bench_*.py)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line about this machine: CPU model, logical CPUs, torch version, threads and the
    load average (a benchmark run on a loaded machine says so)."""
    import os

    import torch

    from ganedit.devices import cpu_half_precisions

    halves = "+".join(cpu_half_precisions()) or "none"
    text = f"{cpu_model()}, {os.cpu_count()} logical CPUs, reduced-precision instructions: {halves}"
    text += f", torch {torch.__version__}"
    text += f", {torch.get_num_threads()} threads"
    try:
        text += f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        pass
    return text
