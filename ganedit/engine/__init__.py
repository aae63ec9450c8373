"""The training engine: the only training loop in ganedit.

* :class:`Engine` -- device, precision (fp32 / bf16-mixed / fp16-mixed), DDP, compile, EMA,
  NaN guard, callbacks, state files. Families use ``autocast()``, ``backward(loss)``,
  ``step(opt)``, ``next_batch()`` inside ``training_step``.
* :func:`fit` -- the loop: resume, checkpoints, samples, ``metrics.jsonl``, progress, signals.
* :class:`TrainOptions` -- every option of a training run, declared once (``ganedit train``'s
  options, :func:`ganedit.train`'s and :func:`fit`'s keywords).
* :class:`LRSchedule` -- the learning-rate curve ``fit`` follows (constant, cosine, linear;
  warm-up and hold phases).
* :func:`plot_run` -- loss curves of a run folder as a PNG.
* :func:`export_weights` -- a run or checkpoint -> shippable weights + card (``ganedit export``);
  it warns (:class:`EMAWarning`) when an exported EMA is still mostly the initial weights.

Training a family by name (``ganedit.train``, ``ganedit train``) lives in
:mod:`ganedit.training`, outside the engine: the engine never imports :mod:`ganedit.plugins`.
"""

from ganedit.engine.checkpoint import CheckpointError, load_state, save_state
from ganedit.engine.distributed import shard
from ganedit.engine.ema import EMA
from ganedit.engine.engine import Engine
from ganedit.engine.export import EMAWarning, export_weights
from ganedit.engine.loop import FitResult, TrainingDiverged, as_roles, fit
from ganedit.engine.options import TrainOptions
from ganedit.engine.plot import plot_run
from ganedit.engine.precision import Precision, choose_training_precision, precision_for
from ganedit.engine.schedule import LRSchedule

__all__ = [
    "EMA",
    "CheckpointError",
    "EMAWarning",
    "Engine",
    "FitResult",
    "LRSchedule",
    "Precision",
    "TrainOptions",
    "TrainingDiverged",
    "as_roles",
    "export_weights",
    "fit",
    "load_state",
    "plot_run",
    "choose_training_precision",
    "precision_for",
    "save_state",
    "shard",
]
