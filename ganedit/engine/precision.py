"""Precision strategies: how a loss is scaled, backpropagated and stepped.

``fp32`` does nothing special; ``bf16-mixed`` runs the forward under bf16 autocast (no scaler
needed: bf16 has fp32's exponent range); ``fp16-mixed`` adds a :class:`torch.amp.GradScaler`
that skips steps whose gradients overflowed and adapts the scale.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ganedit.devices import PrecisionChoice, autocast_for

__all__ = ["Precision", "precision_for"]


class Precision:
    """fp32 / bf16-mixed strategy (no loss scaling). See :func:`precision_for`."""

    def __init__(self, choice: PrecisionChoice, device: torch.device) -> None:
        self.choice = choice
        self.device = device
        self.name = {"fp32": "fp32", "bf16": "bf16-mixed", "fp16": "fp16-mixed"}[choice.name]

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward-pass context (a no-op for fp32)."""
        return autocast_for(self.device, self.choice)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` (a scalar)."""
        loss.backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Make ``.grad`` hold true gradients (for clipping or checks)."""

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Apply the gradients; False when the step was skipped (fp16 overflow)."""
        optimizer.step()
        return True

    def update(self) -> None:
        """End of an optimiser step (fp16: adapt the loss scale)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class FP16Mixed(Precision):
    """fp16 autocast with a dynamic :class:`torch.amp.GradScaler`."""

    def __init__(self, choice: PrecisionChoice, device: torch.device) -> None:
        super().__init__(choice, device)
        self.scaler = torch.amp.GradScaler(device.type)
        self._unscaled: set[int] = set()

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        if id(optimizer) not in self._unscaled:
            self.scaler.unscale_(optimizer)
            self._unscaled.add(id(optimizer))

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        before = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        self._unscaled.discard(id(optimizer))
        return self.scaler.get_scale() >= before

    def state_dict(self) -> dict[str, Any]:
        return {
            k: (float(v) if isinstance(v, float) else v)
            for k, v in self.scaler.state_dict().items()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.scaler.load_state_dict(state)


def precision_for(choice: PrecisionChoice, device: torch.device) -> Precision:
    """The strategy object for a resolved precision (see :func:`ganedit.devices.resolve_precision`)."""
    if choice.name == "fp16":
        return FP16Mixed(choice, device)
    return Precision(choice, device)
