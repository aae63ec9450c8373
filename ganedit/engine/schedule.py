"""Learning-rate schedules: a factor of each optimiser group's base rate, by step.

:func:`fit` captures every param group's ``lr`` as its *base rate* right after
``family.optimizers()`` builds the optimisers (so it is the Config's ``lr`` -- also on resume,
where a new ``--lr`` therefore takes effect), and before each step sets
``lr = base * schedule.factor(step, total)``. The factor is a pure function of the step, so a
resumed run follows the same curve as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

__all__ = ["SCHEDULES", "LRSchedule", "apply_lr", "base_lrs"]

SCHEDULES = ("constant", "cosine", "linear")


@dataclass(frozen=True)
class LRSchedule:
    """``kind``: ``constant``, ``cosine`` (half cosine from 1 to ``min_ratio``, Loshchilov &
    Hutter 2017, no restarts) or ``linear`` (straight line from 1 to ``min_ratio``), after
    ``warmup_steps`` of linear warm-up from ``1 / warmup_steps`` and then ``hold_steps`` at the
    full rate (pix2pix and CycleGAN: constant for the first half, then linear to zero, is
    ``LRSchedule("linear", hold_steps=total // 2)``)."""

    kind: Literal["constant", "cosine", "linear"] = "constant"
    warmup_steps: int = 0
    min_ratio: float = 0.0
    hold_steps: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(
                f"lr schedule must be one of {', '.join(SCHEDULES)}, got {self.kind!r}"
            )
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.hold_steps < 0:
            raise ValueError(f"hold_steps must be >= 0, got {self.hold_steps}")
        if not 0.0 <= self.min_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_ratio}")

    def factor(self, step: int, total: int) -> float:
        """Multiplier of the base rate for the step with 0-based index ``step`` of ``total``.

        Warm-up gives ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps, the
        next ``hold_steps`` steps give 1; the decay then runs over the remaining steps,
        reaching ``min_ratio`` at the last one.
        """
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        start = self.warmup_steps + self.hold_steps
        if self.kind == "constant" or step < start:
            return 1.0
        span = max(1, total - start - 1)
        t = min(1.0, max(0.0, (step - start) / span))
        if self.kind == "cosine":
            shape = 0.5 * (1.0 + math.cos(math.pi * t))
        else:
            shape = 1.0 - t
        return self.min_ratio + (1.0 - self.min_ratio) * shape

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the run's ``config.json`` and the weights card)."""
        return asdict(self)


def base_lrs(opts: Mapping[str, torch.optim.Optimizer]) -> dict[str, list[float]]:
    """The current ``lr`` of every param group, by optimiser name."""
    return {k: [float(g["lr"]) for g in o.param_groups] for k, o in opts.items()}


def apply_lr(
    opts: Mapping[str, torch.optim.Optimizer], base: Mapping[str, list[float]], factor: float
) -> None:
    """Set every group's ``lr`` to ``base * factor`` (a no-op where it already is)."""
    for k, o in opts.items():
        for g, b in zip(o.param_groups, base[k], strict=True):
            lr = b * factor
            if g["lr"] != lr:
                g["lr"] = lr
