"""What one training run changes on its :class:`~ganedit.engine.Engine`: :class:`RunState`.

The engine itself is configuration (device, ranks, requested precision and memory format,
seed, compile, callbacks) and verbs (``autocast``, ``backward``, ``step``, ``next_batch``,
``batches``; ``setup``, ``log``, ``state_dict``...), the shape of Lightning Fabric. Everything a
run moves (the step counter, the stop flag, the EMAs, the networks, the data, the precision and
memory format chosen for this run, the NaN flags of the current step) lives in one
:class:`RunState`, ``engine.run``: :func:`~ganedit.engine.fit` starts a fresh one
(:meth:`Engine.start_run <ganedit.engine.Engine.start_run>`), so a second ``fit`` on the same
engine starts exactly as the first did. The engine's verbs read and write it; the old attribute
names (``engine.step_index``, ``engine.should_stop``, ``engine.ema``, ``engine.data``...) stay
readable and writable and name the current run's fields (:class:`RunField`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganedit.devices import PrecisionChoice
from ganedit.engine.ema import EMA
from ganedit.measured import FormatChoice

__all__ = ["RunField", "RunState"]


@dataclass
class RunState:
    """The per-run state of an :class:`~ganedit.engine.Engine` (``engine.run``).

    Attributes:
        precision: the precision this run trains in (the first candidate until
            :func:`~ganedit.engine.choose_training_precision` or a resumed checkpoint says).
        strategy: that precision's autocast / backward / step strategy
            (:func:`~ganedit.engine.precision_for`).
        memory: the memory format the networks and batches use (requested, or measured by
            :meth:`Engine.choose_memory_format <ganedit.engine.Engine.choose_memory_format>`).
        step_index: optimisation steps done (a resumed run starts at its checkpoint's).
        should_stop: set it to end training after this step (with a checkpoint).
        stop_reason: why it stopped early (a signal's name, a callback's reason), or ``""``.
        ema: generator name -> its :class:`~ganedit.engine.EMA` (empty: EMA off).
        nets_raw: the plain (unwrapped) networks :meth:`~ganedit.engine.Engine.setup` placed.
        data: the run's :class:`ganedit.data.TrainData` (``next_batch`` draws from it).
        batch_size: the Config's batch size (``next_batch``'s).
        out_dir: the run folder (``metrics.jsonl``), or ``None``.
        lr_schedule: the :class:`~ganedit.engine.LRSchedule` the loop follows.
        run_callbacks: this run's own callbacks (plugins'), besides the engine's.
        family_state: :meth:`ModelFamily.training_state <ganedit.ModelFamily.training_state>`
            tensors, saved in checkpoints.
        loss_ok: one 0-dim device bool per ``backward`` since the last ``step``: the loss was
            finite.
        step_ok: every optimiser step of the current training step was finite (a 0-dim device
            bool), or ``None`` before the first.
    """

    precision: PrecisionChoice
    strategy: Any
    memory: FormatChoice
    step_index: int = 0
    should_stop: bool = False
    stop_reason: str = ""
    ema: dict[str, EMA] = field(default_factory=dict)
    nets_raw: dict[str, nn.Module] = field(default_factory=dict)
    data: Any = None
    batch_size: int | None = None
    out_dir: Path | None = None
    lr_schedule: Any = None
    run_callbacks: list[Any] = field(default_factory=list)
    family_state: dict[str, torch.Tensor] = field(default_factory=dict)
    loss_ok: list[torch.Tensor] = field(default_factory=list)
    step_ok: torch.Tensor | None = None


class RunField:
    """An attribute of the engine that names a field of its current run state: reading
    ``engine.step_index`` reads ``engine.run.step_index``, assigning it assigns that field."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, engine: Any, owner: type | None = None) -> Any:
        return self if engine is None else getattr(engine.run, self.name)

    def __set__(self, engine: Any, value: Any) -> None:
        setattr(engine.run, self.name, value)
