"""Optimiser helpers: the fastest Adam implementation the parameters' device offers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["adam"]


def adam(
    params: Iterable[torch.nn.Parameter] | Iterable[dict],
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    *,
    weight_decay: float = 0.0,
    eps: float = 1e-8,
) -> torch.optim.Adam:
    """``torch.optim.Adam`` with ``fused=True`` (one kernel per step on a CUDA GPU, and on the
    CPU, where it also measured faster than ``foreach``: ``benchmarks/bench_dcgan_train.py``).
    A fused optimiser takes the engine's on-device NaN flag and skips its own update, so the
    NaN guard never waits for the device (:meth:`ganedit.engine.Engine.step`).

    Call it *after* :meth:`ganedit.engine.Engine.setup` moved the networks to their device
    (the engine's ``family.optimizers(nets, config)`` call happens after setup).
    """
    param_groups: list[dict[str, Any]] = []
    plain: list[torch.Tensor] = []
    for p in params:
        if isinstance(p, dict):
            param_groups.append({**p, "params": list(p["params"])})
        else:
            plain.append(p)
    if param_groups and plain:
        raise TypeError("adam: params mixes parameter-group dicts and bare tensors")
    groups: list[dict[str, Any]] | list[torch.Tensor] = param_groups or plain
    tensors = [t for g in param_groups for t in g["params"]] + plain
    device = tensors[0].device.type if tensors else "cpu"
    b1, b2 = betas
    kwargs = {"fused": True} if device in ("cuda", "cpu") else {"foreach": True}
    return torch.optim.Adam(
        groups, lr=lr, betas=(b1, b2), weight_decay=weight_decay, eps=eps, **kwargs
    )
