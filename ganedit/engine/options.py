"""Every option of a training run, declared once: :class:`TrainOptions`.

Each field carries its help text, type, default and bounds. From these fields come

* the options of ``ganedit train MODEL`` (:mod:`ganedit.cli.train`, through the same field ->
  Click option code as ``ganedit run``'s :class:`~ganedit.infer.options.RunOptions`),
* the keywords :func:`ganedit.train` and :func:`ganedit.engine.fit` accept
  (:meth:`TrainOptions.parse`), and what :func:`~ganedit.engine.fit`'s loop reads.

Field metadata keys: ``help`` (``--help``), ``min``/``max``/``max_open`` (bounds: Click
ranges on the command line), ``choices``, ``show_default``, ``scope`` (``"fit"``: read by
:func:`~ganedit.engine.fit`, the default; ``"train"``: resolved by :func:`ganedit.train` into
the config, the schedule or the :class:`~ganedit.engine.Engine`), ``cli`` (``False``: Python
only; ``"shared"``: the command line uses the option every model command shares), ``group``
(``"engine"``: listed after ``--config``/``--set`` in ``--help``), ``required`` (the Python
API needs it given: ``steps``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedit.config import MEMORY_FORMATS, option
from ganedit.engine.schedule import SCHEDULES

__all__ = ["DEFAULT_STEPS", "TrainOptions"]

DEFAULT_STEPS = 10_000
ALIASES = {"ema": "ema_decay"}  # the Python API's older keyword


@dataclass
class TrainOptions:
    """The options of one training run (all keyword arguments of :func:`ganedit.train`;
    the ``scope="fit"`` ones also of :func:`ganedit.engine.fit`)."""

    steps: int = option(
        DEFAULT_STEPS, "Total training steps (a resumed run continues up to this count).",
        min=1, required=True,
    )  # fmt: skip
    batch_size: int | None = option(
        None, "Batch size [default: the model's Config].", min=1, scope="train"
    )
    lr: float | None = option(None, "Learning rate [default: the model's Config].", scope="train")
    lr_schedule: str | None = option(
        None, "Learning-rate curve over --steps: constant, cosine or linear decay to "
        "--min-lr-ratio [default: constant; on --resume, the run's own].",
        choices=SCHEDULES, scope="train",
    )  # fmt: skip
    warmup_steps: int | None = option(
        None, "Linear learning-rate warm-up over the first N steps [default: 0].",
        min=0, scope="train",
    )  # fmt: skip
    min_lr_ratio: float | None = option(
        None, "Final learning rate of a decaying schedule, as a fraction of --lr [default: 0].",
        min=0.0, max=1.0, scope="train",
    )  # fmt: skip
    hold_steps: int | None = option(
        None, "Steps at the full rate after warm-up, before a decaying schedule starts (image "
        "translation papers use half of --steps) [default: 0].", min=0, scope="train",
    )  # fmt: skip
    resume: bool | str | Path = option(False, "Continue from the last checkpoint in --out.")
    overwrite: bool = option(
        False, "Start afresh in an --out that already holds a run, deleting its checkpoints, "
        "metrics, samples and weights (without it such a folder is refused).", scope="train",
    )  # fmt: skip
    checkpoint_every: int = option(1000, "Save a checkpoint every N steps (and at the end).", min=1)
    keep_last: int = option(3, "Keep the newest N checkpoints.", min=1)
    sample_every: int = option(
        500, "Write samples/step-N.png every N steps (0: only at the end).", min=0
    )
    log_every: int = option(10, "Append losses to metrics.jsonl every N steps.", min=1)
    ema_decay: float | None = option(
        None, "EMA decay of the generators' weights, 0 = off [default: the model's Config, "
        "when it has ema_decay].", min=0.0, max=1.0, max_open=True,
    )  # fmt: skip
    device: str = option("auto", "Where to train (as ganedit run).", scope="train",
                       group="engine", cli="shared")  # fmt: skip
    precision: str = option("auto", "Training precision (as ganedit run; auto measures on the "
                          "CPU).", scope="train", group="engine", cli="shared")  # fmt: skip
    compile: bool | str = option(
        False, "torch.compile the networks.", scope="train", group="engine"
    )
    memory_format: str = option(
        "auto", "Layout of the networks and batches: auto times forward and backward of the "
        "generators in both on a sample batch at the start (once per machine; remembered in "
        "~/.cache/ganedit) and keeps the faster.",
        choices=MEMORY_FORMATS, scope="train", group="engine",
    )  # fmt: skip
    seed: int = option(
        0, "Random seed (weights init, data order, augmentation).",
        scope="train", group="engine", show_default=True,
    )  # fmt: skip
    deterministic: bool = option(
        False, "Use deterministic algorithms (slower; same seed -> same run).",
        scope="train", group="engine",
    )  # fmt: skip
    progress: bool = option(True, "Show a progress bar.", cli=False)
    num_samples: int = option(16, "Items in each sample grid.", min=1, cli=False)
    max_bad_steps: int = option(
        3, "NaN/Inf steps in a row before rolling back and stopping.", min=1, cli=False
    )

    @classmethod
    def fields(cls, scope: str | None = None) -> list[dataclasses.Field]:
        """The fields (``scope``: only those of ``"fit"`` or ``"train"``), in order."""
        return [
            f for f in dataclasses.fields(cls)
            if scope is None or f.metadata.get("scope", "fit") == scope
        ]  # fmt: skip

    @classmethod
    def parse(
        cls,
        values: Mapping[str, Any],
        base: TrainOptions | None = None,
        *,
        scope: str | None = None,
        caller: str = "train",
    ) -> TrainOptions:
        """``base`` (default: the defaults) with ``values`` (keywords of ``caller``) set.

        Raises:
            TypeError: a keyword that is no field (of ``scope``), or a required field (see
                the module docstring) neither in ``values`` nor in ``base``; as Python says
                it of a function's keywords.
        """
        given = {ALIASES.get(k, k): v for k, v in values.items()}
        known = {f.name for f in cls.fields(scope)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        if base is None:
            missing = [
                f.name for f in cls.fields(scope) if f.metadata.get("required")
                and f.name not in given
            ]  # fmt: skip
            if missing:
                raise TypeError(
                    f"{caller}() missing required keyword-only argument: {missing[0]!r}"
                )
        return dataclasses.replace(base or cls(), **given)
