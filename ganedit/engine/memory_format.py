"""The memory format a training run uses: forward and backward of the generators, measured.

:func:`choose_training_format` times each generator's forward and backward on the run's own
sample-grid inputs in NCHW and in channels_last (:func:`ganedit.measured.measured_format`,
remembered per machine) and returns the faster. The probe leaves no trace: batch-norm running
statistics are put back, gradients dropped, and the random state restored, so a run (or a
resumed one) trains exactly the same whether the choice was measured or recalled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ganedit.family import ModelFamily
from ganedit.measured import FormatChoice, measured_format, net_digest, to_format

__all__ = ["apply_format", "choose_training_format"]


def apply_format(nets: Mapping[str, nn.Module], channels_last: bool) -> None:
    """Convert every network (parameters and buffers, in place) to the layout."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for net in nets.values():
        net.to(memory_format=fmt)  # type: ignore[call-overload]


def choose_training_format(
    family: ModelFamily,
    config: Any,
    nets: Mapping[str, nn.Module],
    generators: Sequence[str],
    inputs: Mapping[str, torch.Tensor],
    device: torch.device,
    precision: str,
    autocast: Any,
) -> FormatChoice:
    """Measure (or recall) the faster layout for training ``nets``; side-effect free.

    Args:
        family, config: the family being trained (its :meth:`~ganedit.ModelFamily.predict`).
        nets: the plain (unwrapped) networks, in train mode, on ``device``.
        generators: the generator names (each one's forward and backward is timed).
        inputs: the run's fixed sample-grid inputs (``validation_inputs`` of a preview
            batch, or latents for GENERATE), on ``device``.
        precision: the precision's name (part of the cache key).
        autocast: a callable returning the engine's autocast context.

    Returns:
        The faster :class:`~ganedit.measured.FormatChoice` (``nets`` are left contiguous; the
        caller applies the choice).
    """

    def job(channels_last: bool) -> None:
        apply_format(nets, channels_last)
        x = {k: to_format(v, channels_last) for k, v in inputs.items()}
        for g in generators:
            with autocast():
                out = family.predict(nets[g], x, config)
            out.float().mean().backward()
        for net in nets.values():
            for p in net.parameters():
                p.grad = None

    n = next(iter(inputs.values())).shape[0] if inputs else 0
    key = f"train|{family.name}|{net_digest(*nets.values())}|{precision}|n{n}"
    saved = {k: [b.detach().clone() for b in net.buffers()] for k, net in nets.items()}
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        choice = measured_format(key, job, device)
    for k, net in nets.items():
        for b, old in zip(net.buffers(), saved[k], strict=True):
            b.copy_(old)
    apply_format(nets, False)
    return choice
