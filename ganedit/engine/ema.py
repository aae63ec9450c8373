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
    def update(self, module: nn.Module) -> None:
        """Blend ``module``'s current weights in (``module`` has the same structure)."""
        src = dict(module.named_parameters())
        ema_p: list[torch.Tensor] = []
        cur_p: list[torch.Tensor] = []
        for name, p in self.module.named_parameters():
            if p.is_floating_point():
                ema_p.append(p)
                cur_p.append(src[name].detach())
        if ema_p:
            torch._foreach_lerp_(ema_p, cur_p, 1.0 - self.decay)
        bufs = dict(module.named_buffers())
        for name, b in self.module.named_buffers():
            b.copy_(bufs[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
