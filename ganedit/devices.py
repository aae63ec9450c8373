"""Device and precision choice, shared by inference and training.

On a CPU, which precisions are worth timing depends on its instructions: bf16 runs natively
with AVX512-BF16 or AMX-BF16 (4.8x fp32 NCHW for srgan on an AMX Xeon), fp16 with AVX512-FP16
or AMX-FP16. Elsewhere PyTorch emulates them through fp32, which is slower, not faster (srgan
x4, one 256 px input, 2 threads, AMD EPYC without either: fp32 channels_last 5.5 s against
35 s in bf16 autocast, measured on a busy machine by ``benchmarks/bench_precision.py``). So
:func:`precision_candidates` offers a reduced precision to the measurement only where the
CPU has instructions for it; which candidate wins is then measured, never assumed
(:mod:`ganedit.infer.autotune` for inference, :func:`ganedit.engine.choose_training_precision`
for training). A precision asked for by name is used on any CPU.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

__all__ = [
    "PrecisionChoice",
    "autocast_for",
    "cpu_half_precisions",
    "precision_candidates",
    "resolve_device",
    "resolve_precision",
]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` -> the first CUDA GPU if one is usable, else the CPU; ``"cuda:1"``, ``"cpu"``
    as given. Raises ``ValueError`` with a clear message for an unusable device."""
    if isinstance(spec, torch.device):
        return spec
    s = (spec or "auto").strip().lower()
    if s == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(s)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r} asked for, but no CUDA GPU is available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {spec!r} asked for, but only {torch.cuda.device_count()} GPU(s) exist"
            )
    return dev


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision actually used, and why.

    Attributes:
        name: ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        dtype: the autocast dtype (``torch.float32`` for fp32: no autocast).
        note: why a request was not honoured (empty when it was).
        source: ``"requested"`` (named, or the only candidate), ``"measured"`` or ``"cached"``
            (measured earlier on this machine).
        seconds: the best probe time per candidate setting (empty when not measured).
        guard: what the quality guard saw for each reduced precision it checked, e.g.
            ``{"bf16": "max 1 level, mean 0.09 level: within max 2 / mean 0.5"}``.
    """

    name: str
    dtype: torch.dtype
    note: str = ""
    source: str = "requested"
    seconds: Mapping[str, float] = field(default_factory=dict)
    guard: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for notes and manifests, e.g. ``bf16 (measured: bf16/channels_last
        0.147 s, fp32/channels_last 0.484 s, ...; guard bf16: max 2 levels ...)``."""
        parts = []
        if self.seconds:
            parts.append(", ".join(f"{k} {v:.3g} s" for k, v in sorted(self.seconds.items())))
        parts += [f"guard {k}: {v}" for k, v in sorted(self.guard.items())]
        if self.note:
            parts.append(self.note)
        return f"{self.name} ({self.source}{': ' if parts else ''}{'; '.join(parts)})"

    def chosen(self, source: str, **changes: object) -> PrecisionChoice:
        """A copy with ``source`` and the given fields changed."""
        return replace(self, source=source, **changes)  # type: ignore[arg-type]


_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def _torch_says(name: str) -> bool:
    probe = getattr(torch.cpu, name, None)
    try:
        return bool(probe()) if callable(probe) else False
    except (RuntimeError, AttributeError):
        return False


@functools.lru_cache(maxsize=1)
def cpu_half_precisions() -> tuple[str, ...]:
    """The reduced precisions this CPU has instructions for: ``"bf16"`` with AVX512-BF16 or
    AMX-BF16, ``"fp16"`` with AVX512-FP16 or AMX-FP16 (from PyTorch's own checks and
    ``/proc/cpuinfo``); ``()`` on a CPU with neither (e.g. AMD Zen 1-3)."""
    flags = _cpu_flags()
    out = []
    if (
        _torch_says("_is_avx512_bf16_supported")
        or _torch_says("_is_amx_tile_supported")
        or {"avx512_bf16", "amx_bf16"} & flags
    ):
        out.append("bf16")
    if _torch_says("_is_amx_fp16_supported") or {"avx512_fp16", "amx_fp16"} & flags:
        out.append("fp16")
    return tuple(out)


def resolve_precision(spec: str | None, device: torch.device) -> PrecisionChoice:
    """The compute precision for ``device`` before any measurement.

    ``auto``: bf16 on a CUDA GPU that supports it (fp16 on an older one), fp32 on the CPU (a
    CPU's reduced precisions are chosen by measurement: :func:`precision_candidates`). A
    named precision is honoured; bf16 on a GPU without it becomes fp16 with a note, and a
    CPU precision the CPU has no instructions for is kept with a note that it is emulated.
    """
    s = (spec or "auto").lower()
    if s not in PRECISIONS:
        raise ValueError(f"unknown precision {spec!r} (use {', '.join(PRECISIONS)})")
    if device.type == "cuda":
        bf16_ok = torch.cuda.is_bf16_supported()
        if s == "auto":
            return (
                PrecisionChoice("bf16", torch.bfloat16)
                if bf16_ok
                else PrecisionChoice("fp16", torch.float16)
            )
        if s == "bf16" and not bf16_ok:
            return PrecisionChoice(
                "fp16", torch.float16, "bf16 unsupported on this GPU; using fp16"
            )
        return PrecisionChoice(s, _DTYPES[s])
    if s in ("bf16", "fp16"):
        note = ""
        if s not in cpu_half_precisions():
            note = (
                f"{s} asked for on a CPU without {s} instructions: it is emulated and usually "
                "slower than fp32"
            )
        return PrecisionChoice(s, _DTYPES[s], note)
    return PrecisionChoice("fp32", torch.float32)


def precision_candidates(spec: str | None, device: torch.device) -> tuple[PrecisionChoice, ...]:
    """The precisions a measurement chooses among, fp32 first.

    One candidate (nothing to measure) unless ``spec`` is ``auto`` on a CPU with
    instructions for a reduced precision (:func:`cpu_half_precisions`): then fp32 and those.
    """
    first = resolve_precision(spec, device)
    if (spec or "auto").lower() != "auto" or device.type != "cpu":
        return (first,)
    return (first, *(PrecisionChoice(n, _DTYPES[n]) for n in cpu_half_precisions()))


def autocast_for(
    device: torch.device, precision: PrecisionChoice
) -> contextlib.AbstractContextManager:
    """An autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    if precision.dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=precision.dtype)
