"""Precision strategies: how a loss is scaled, backpropagated and stepped.

``fp32`` does nothing special; ``bf16-mixed`` runs the forward under bf16 autocast (no scaler
needed: bf16 has fp32's exponent range); ``fp16-mixed`` adds a :class:`torch.amp.GradScaler`
that skips steps whose gradients overflowed and adapts the scale.

:func:`choose_training_precision` picks between fp32 and the reduced precisions a CPU has
instructions for by timing the family's own training step both ways (``--precision auto``).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import torch

from ganedit.devices import PrecisionChoice, autocast_for
from ganedit.family import Step
from ganedit.measured import measured_choice, net_digest

__all__ = ["Precision", "choose_training_precision", "precision_for"]


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


def _training_job(run: Any, candidates: dict[str, PrecisionChoice], steps: int) -> Any:
    """``job(name)``: ``steps`` of the family's own training step in that precision on one
    fixed batch, then every weight, moment, EMA, RNG and the data position put back."""
    engine = run.engine
    saved = copy.deepcopy(engine.state_dict(run.nets, run.opts))
    batch = engine.data.next_batch(engine.batch_size)
    engine.load_state_dict(saved, run.nets, run.opts)

    def job(name: str) -> None:
        engine.use_precision(candidates[name])
        try:
            for _ in range(steps):
                engine.begin_step()
                step = Step(
                    run.nets, run.opts, run.config, engine, engine.family_state, engine.step_index
                )
                run.family.training_step(step, batch)
        finally:
            engine.load_state_dict(copy.deepcopy(saved), run.nets, run.opts)

    return job


def choose_training_precision(run: Any, steps: int = 2) -> PrecisionChoice:
    """Measure (or recall) the faster of the engine's precision candidates for training.

    The candidates are :attr:`Engine.precision_candidates` (fp32, plus bf16/fp16 on a CPU
    with instructions for them: :func:`ganedit.devices.precision_candidates`); each runs
    ``steps`` of ``run.family.training_step`` on one batch (after a warm-up round), and the
    state is restored after each, so the run starts exactly as it would have. The answer is
    remembered per machine (:func:`ganedit.measured.measured_choice`).

    Args:
        run: the fit's run, after set-up: ``engine``, ``family``, ``config``, ``nets``,
            ``opts`` (the networks in their chosen memory format).
        steps: training steps timed per candidate and round.

    Returns:
        The choice now in force on ``run.engine`` (``source`` ``"measured"`` or ``"cached"``).
    """
    engine = run.engine
    candidates = {c.name: c for c in engine.precision_candidates}
    if len(candidates) < 2 or engine.world_size > 1:
        return engine.precision
    key = (
        f"train-precision|{run.family.name}|{net_digest(*engine.nets_raw.values())}"
        f"|{engine.memory.name}|bs{engine.batch_size}"
    )
    best, source, seconds = measured_choice(
        key, list(candidates), _training_job(run, candidates, steps), engine.device, runs=1
    )
    engine.use_precision(candidates[best].chosen(source, seconds=seconds))
    return engine.precision
