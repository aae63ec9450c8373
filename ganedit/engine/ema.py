"""Exponential moving average of a network's weights (Karras et al.; Yazici et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """``ema = decay * ema + (1 - decay) * weights`` after every optimiser step.

    The copy lives on the same device, in eval mode, without gradients; buffers (BatchNorm
    statistics) are copied as they are.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, ok: torch.Tensor | None = None) -> None:
        """Blend ``module``'s current weights in (``module`` has the same structure).

        Args:
            module: the trained network.
            ok: optional 0-dim bool tensor on the device: when False the EMA is left as it
                is (a skipped NaN step), decided on the device without waiting for it.
        """
        src = dict(module.named_parameters())
        ema_p: list[torch.Tensor] = []
        cur_p: list[torch.Tensor] = []
        for name, p in self.module.named_parameters():
            if p.is_floating_point():
                ema_p.append(p)
                cur_p.append(src[name].detach())
        weight = 1.0 - self.decay
        if ema_p:
            if ok is None:
                torch._foreach_lerp_(ema_p, cur_p, weight)
            else:
                w = ok.to(ema_p[0].device, ema_p[0].dtype) * weight
                torch._foreach_lerp_(ema_p, cur_p, w)  # type: ignore[call-overload]
        bufs = dict(module.named_buffers())
        for name, b in self.module.named_buffers():
            new = bufs[name]
            b.copy_(new if ok is None else torch.where(ok.to(b.device), new, b))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
