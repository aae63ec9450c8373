"""Device and precision choice, shared by inference and training."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

__all__ = ["PrecisionChoice", "resolve_device", "resolve_precision", "autocast_for"]

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
    """The precision actually used: ``name`` in fp32/bf16/fp16, ``dtype`` for autocast, and a
    ``note`` explaining a fallback (empty when the request was honoured)."""

    name: str
    dtype: torch.dtype
    note: str = ""


def resolve_precision(spec: str | None, device: torch.device) -> PrecisionChoice:
    """Pick the compute precision for ``device``.

    ``auto``: bf16 on a CUDA GPU that supports it, fp32 otherwise. A half precision the device
    cannot run falls back to fp32 with a note instead of crashing (on the CPU, half-precision
    convolutions are slower than fp32 and fp16 ones are unsupported by many kernels).
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
        return PrecisionChoice(
            s, {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[s]
        )
    if s in ("bf16", "fp16"):
        return PrecisionChoice(
            "fp32", torch.float32, f"{s} is not used on {device.type}; falling back to fp32"
        )
    return PrecisionChoice("fp32", torch.float32)


def autocast_for(
    device: torch.device, precision: PrecisionChoice
) -> contextlib.AbstractContextManager:
    """An autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    if precision.dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=precision.dtype)
