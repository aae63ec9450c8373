"""``fit``: the only training loop (resume, NaN guard, checkpoints, samples, logs, signals).

The loop is a small class, :class:`_Run`, with one method per job (set-up, resume, one step,
logging, checkpoint, samples, export); :func:`fit` builds it and runs it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ganedit.devices import resolve_precision
from ganedit.engine.checkpoint import (
    CheckpointError,
    checkpoint_step,
    list_checkpoints,
    load_state,
)
from ganedit.engine.engine import Engine
from ganedit.engine.monitor import truncate_metrics
from ganedit.engine.options import TrainOptions
from ganedit.engine.precision import choose_training_precision
from ganedit.engine.run_files import RunFiles, rng_devices
from ganedit.engine.schedule import LRSchedule, apply_lr, base_lrs
from ganedit.family import Kind, ModelFamily, Step

__all__ = ["FitResult", "TrainingDiverged", "as_roles", "fit"]


class TrainingDiverged(RuntimeError):
    """Several training steps in a row had NaN/Inf losses or gradients."""


@dataclass
class FitResult:
    """What :func:`fit` did: the last ``step``, the exported ``weights`` path (rank 0), the
    last logged ``metrics``, ``interrupted`` (stopped by SIGINT/SIGTERM or a callback) and
    ``stop_reason`` (``"SIGINT"``, ``"SIGTERM"``, or ``None``)."""

    step: int
    weights: Path | None
    out_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    checkpoint: Path | None = None
    stop_reason: str | None = None


@contextlib.contextmanager
def _stop_on_signals(engine: Engine) -> Iterator[None]:
    """SIGINT/SIGTERM set ``engine.should_stop`` (the step finishes, a checkpoint is saved);
    a second SIGINT raises KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        if engine.should_stop and signum == signal.SIGINT:
            raise KeyboardInterrupt
        engine.should_stop = True
        engine.stop_reason = signal.Signals(signum).name

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _as_float(v: Any) -> float:
    return float(v.detach().float().item()) if isinstance(v, torch.Tensor) else float(v)


def as_roles(data: Any) -> dict[str, list[Path]]:
    """Training data paths by role: a mapping is taken as is (values: one path or several);
    a path or a sequence of paths is role ``"data"``."""
    if isinstance(data, Mapping):
        return {
            str(k): [Path(v)] if isinstance(v, (str, Path)) else [Path(p) for p in v]
            for k, v in data.items()
        }
    if isinstance(data, (str, Path)):
        return {"data": [Path(data)]}
    return {"data": [Path(p) for p in data]}


def match_optimizer_layout(opts: dict[str, torch.optim.Optimizer]) -> None:
    """Give every 4-d optimiser state tensor its parameter's memory layout."""
    for opt in opts.values():
        for p, st in opt.state.items():
            for k, v in st.items():
                if torch.is_tensor(v) and v.dim() == 4 and v.shape == p.shape:
                    st[k] = v.contiguous(memory_format=torch.channels_last)


class _Run(RunFiles):
    """One call of :func:`fit`: the state the loop's jobs share, as attributes (the files
    it writes: :class:`~ganedit.engine.run_files.RunFiles`)."""

    def __init__(
        self,
        family: ModelFamily,
        config: Any,
        engine: Engine,
        out: Path,
        opt: TrainOptions,
        data_paths: dict[str, list[str]],
        schedule: LRSchedule,
    ) -> None:
        self.family, self.config, self.engine, self.out, self.opt = (
            family, config, engine, out, opt,
        )  # fmt: skip
        self.data_paths, self.schedule = data_paths, schedule
        self.ckpt_dir = out / "checkpoints"
        self.generators = tuple(family.generators)
        self.last_metrics: dict[str, float] = {}
        self.last_ckpt: Path | None = None
        self.bad_in_row = 0
        # NaN guard on the device: current streak, longest since the last look, last flag
        self.streak: torch.Tensor | None = None
        self.longest: torch.Tensor | None = None
        self.last_ok: torch.Tensor | None = None
        self.check_every = max(1, min(opt.log_every, 50))
        self.saved_at = -1
        self.t_last, self.n_last = time.perf_counter(), 0
        self.pbar: Any = None

    # ------------------------------------------------------------------------------- set-up
    def setup(self, data: Any, val: Any) -> None:
        """Networks, optimisers, family state, data and the fixed sample-grid inputs."""
        engine, family, config = self.engine, self.family, self.config
        engine.seed_everything()
        nets = family.build(config)
        missing = [g for g in self.generators if g not in nets]
        if missing:
            raise ValueError(
                f"{family.name}: build() returned no {', '.join(missing)} "
                f"(declared in generators {self.generators}); it returned {sorted(nets)}"
            )
        self.nets = engine.setup(nets, self.generators)
        self.opts = family.optimizers(self.nets, config)
        self.base = base_lrs(self.opts)
        engine.lr_schedule = self.schedule
        engine.family_state = dict(family.training_state(config))
        if not hasattr(data, "next_batch"):
            data = family.dataset(as_roles(data), config)
        if val is not None and not hasattr(val, "next_batch"):
            val = family.dataset(as_roles(val), config)
        engine.data = data.setup(
            engine.device, rank=engine.rank, world=engine.world_size, seed=engine.seed
        )
        if val is not None:
            val.setup(engine.device, seed=engine.seed)
        with torch.random.fork_rng(devices=rng_devices(engine)):
            if family.kind is Kind.GENERATE:
                gen = torch.Generator().manual_seed(engine.seed)
                latent = family.latent(self.opt.num_samples, config, gen)
                self.fixed: dict[str, torch.Tensor] = {"latent": latent}
            else:
                preview = (val or data).preview(self.opt.num_samples)
                self.fixed = dict(family.validation_inputs(preview, config))
        self.fixed = {k: v.to(engine.device) for k, v in self.fixed.items()}
        engine.choose_memory_format(family, config, self.fixed)
        if val is not None and hasattr(val, "channels_last"):
            val.channels_last = engine.channels_last

    def restore(self) -> None:
        """Continue from a checkpoint (``resume``), or start a fresh metrics log."""
        engine, resume = self.engine, self.opt.resume
        if resume:
            found = list_checkpoints(self.ckpt_dir)
            start = Path(resume) if not isinstance(resume, bool) else (found[-1] if found else None)
            if start is not None:
                self.load_checkpoint(start)
                if engine.is_main:
                    truncate_metrics(self.out / "metrics.jsonl", engine.step_index)
            self.last_ckpt = start
            if engine.channels_last:  # saved optimiser moments are contiguous: match the params
                match_optimizer_layout(self.opts)
        else:
            start = None
            engine.step_index = 0
            if engine.is_main and (self.out / "metrics.jsonl").exists():
                (self.out / "metrics.jsonl").unlink()
        if start is None:  # a resumed run keeps the precision saved with it (load_checkpoint)
            choose_training_precision(self)
        self.n_last = engine.step_index

    # --------------------------------------------------------------------------------- loop
    def load_checkpoint(self, path: Path) -> None:
        """Restore ``path``, refusing another family's checkpoint or one that does not fit.

        Raises:
            CheckpointError: the message names the file and the reason.
        """
        state, doc = load_state(path)
        saved = (doc.get("meta") or {}).get("precision")
        if (
            saved
            and self.engine.precision_request == "auto"
            and saved != self.engine.precision.name
        ):
            self.engine.use_precision(
                resolve_precision(saved, self.engine.device).chosen("resumed")
            )
        other = (doc.get("meta") or {}).get("family")
        if other and other != self.family.name:
            raise CheckpointError(
                f"{path}: a checkpoint of {other!r}, not {self.family.name!r}; resume it with "
                f"`ganedit train {other} --resume`, or choose another --out"
            )
        try:
            self.engine.load_state_dict(state, self.nets, self.opts)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(
                f"{path}: does not fit {self.family.name} with this config ({first[:300]})"
            ) from None

    def train_step(self) -> dict[str, Any]:
        """One optimisation step of the family, with the learning-rate curve, the NaN guard
        and the EMA update."""
        engine = self.engine
        factor = self.schedule.factor(engine.step_index, self.opt.steps)
        apply_lr(self.opts, self.base, factor)
        self.factor = factor
        batch = engine.data.next_batch(engine.batch_size)
        engine.begin_step()
        step = Step(
            self.nets, self.opts, self.config, engine, engine.family_state, engine.step_index
        )
        losses = self.family.training_step(step, batch)
        self.track_bad(engine.step_ok())
        engine.step_index += 1
        if engine.step_index % self.check_every == 0:
            self.check_bad()
        if engine.world_size > 1:
            flag = torch.tensor([1.0 if engine.should_stop else 0.0], device=engine.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            engine.should_stop = bool(flag.item())
        return losses

    def track_bad(self, ok: torch.Tensor) -> None:
        """Count NaN/Inf steps on the device (no host sync): the current streak and the
        longest since the last look; the EMA moves only on good steps."""
        if self.streak is None:
            self.streak = torch.zeros((), dtype=torch.int64, device=ok.device)
            self.longest = torch.zeros_like(self.streak)
        self.streak = (self.streak + 1) * (~ok)
        assert self.longest is not None
        self.longest = torch.maximum(self.longest, self.streak)
        self.last_ok = ok
        self.engine.update_ema(ok)

    def check_bad(self) -> None:
        """Look at the device counters (one host sync): raise :class:`TrainingDiverged` after
        ``max_bad_steps`` bad steps in a row (rolling back to the last checkpoint)."""
        if self.streak is None or self.longest is None:
            return
        longest, current = int(self.longest), int(self.streak)
        self.bad_in_row = current
        if longest >= self.opt.max_bad_steps:
            raise self.diverged(longest)
        self.longest = self.streak.clone()

    def log(self, losses: Mapping[str, Any]) -> dict[str, float]:
        """Metrics every ``log_every`` steps (and at the last or a stopping step)."""
        engine, step = self.engine, self.engine.step_index
        due = step % max(1, self.opt.log_every) == 0 or step == self.opt.steps
        if not (due or engine.should_stop):
            return {}
        now = time.perf_counter()
        batch = int(engine.batch_size or 0) * engine.world_size
        img_s = (step - self.n_last) * batch / max(now - self.t_last, 1e-9)
        self.t_last, self.n_last = now, step
        metrics = {k: _as_float(v) for k, v in losses.items()}
        metrics["img_per_s"] = round(img_s, 2)
        if self.schedule.kind != "constant" or self.schedule.warmup_steps:
            metrics["lr_factor"] = round(self.factor, 6)
        metrics["skipped"] = int(self.last_ok is not None and not bool(self.last_ok))
        self.last_metrics = metrics
        engine.log(metrics, step)
        if self.pbar is not None:
            shown = {k: f"{v:.4g}" for k, v in metrics.items() if k != "skipped"}
            self.pbar.set_postfix(shown, refresh=False)
        return metrics

    def after_step(self, metrics: dict[str, float]) -> None:
        """Callbacks, sample grid and checkpoint after a step."""
        step = self.engine.step_index
        if self.pbar is not None:
            self.pbar.update(1)
        self.call("on_step_end", step=step, metrics=metrics)
        if self.opt.sample_every and step % self.opt.sample_every == 0:
            self.write_samples()
        # no checkpoint inside a streak of NaN steps: the rollback point stays clean
        every = self.opt.checkpoint_every
        if every and step % every == 0:
            self.check_bad()
            if self.bad_in_row == 0:
                self.save_checkpoint()

    def run(self) -> FitResult:
        engine = self.engine
        self.call("on_fit_start", step=engine.step_index)
        if self.opt.progress and engine.is_main:
            from tqdm.auto import tqdm

            self.pbar = tqdm(
                total=self.opt.steps,
                initial=engine.step_index,
                desc=self.family.name,
                unit="step",
                dynamic_ncols=True,
            )
        try:
            with _stop_on_signals(engine):
                while engine.step_index < self.opt.steps and not engine.should_stop:
                    losses = self.train_step()
                    self.after_step(self.log(losses))
                self.check_bad()
                if self.saved_at != engine.step_index:
                    self.save_checkpoint()
                weights = self.export(self.last_metrics)
                self.finish_files()
        finally:
            if self.pbar is not None:
                self.pbar.close()
        result = FitResult(
            step=engine.step_index,
            weights=weights,
            out_dir=self.out,
            metrics=self.last_metrics,
            interrupted=engine.step_index < self.opt.steps,
            checkpoint=self.last_ckpt,
            stop_reason=getattr(engine, "stop_reason", None),
        )
        self.call("on_fit_end", step=engine.step_index, metrics=self.last_metrics, path=weights)
        return result

    def diverged(self, bad: int) -> TrainingDiverged:
        engine = self.engine
        msg = (
            f"training diverged: {bad} steps in a row had NaN/Inf losses or gradients "
            f"(seen at step {engine.step_index})"
        )
        if self.last_ckpt is not None:
            engine.load_state_dict(engine.load(self.last_ckpt), self.nets, self.opts)
            self.export({})
            msg += (
                f"; rolled back to {self.last_ckpt} (step {checkpoint_step(self.last_ckpt)}) "
                "and exported its weights. Lower the learning rate or try --precision fp32, "
                "then --resume."
            )
        else:
            msg += "; no checkpoint to roll back to (the weights never received a NaN update)."
        return TrainingDiverged(msg)


def _paths_by_role(data: Any, given: Any) -> dict[str, list[str]]:
    if given:
        return {k: [str(p) for p in v] for k, v in as_roles(given).items()}
    if hasattr(data, "next_batch"):
        return {}
    return {k: [str(p) for p in v] for k, v in as_roles(data).items()}


def _run_engine(
    engine: Engine, family: ModelFamily, config: Any, out: Path, ema: float | None
) -> Engine:
    """``engine`` set up for one run into ``out``: a fresh run state (:meth:`Engine.start_run`),
    the EMA decay (``ema``, else ``config.ema_decay``) and the Config's batch size; ``out``
    made (rank 0)."""
    engine.start_run()
    engine.out_dir = out
    decay = ema if ema is not None else getattr(config, "ema_decay", None)
    engine.ema_decay = float(decay) if decay else None
    batch_size = int(getattr(config, "batch_size", 0) or 0)
    if batch_size <= 0:
        raise ValueError(f"{family.name}: config.batch_size must be a positive int")
    engine.batch_size = batch_size
    if engine.is_main:
        out.mkdir(parents=True, exist_ok=True)
    return engine


def fit(
    family: ModelFamily,
    config: Any,
    data: Any,
    out_dir: str | Path,
    engine: Engine | None = None,
    *,
    options: TrainOptions | None = None,
    val: Any = None,
    data_paths: Mapping[str, Sequence[str | Path]] | Sequence[str | Path] = (),
    lr_schedule: LRSchedule | None = None,
    callbacks: Iterable[Any] = (),
    **values: Any,
) -> FitResult:
    """Train ``family`` for ``steps`` optimisation steps (the only training loop).

    Args:
        family: a trainable :class:`ganedit.ModelFamily` instance.
        config: its Config instance (``batch_size`` is read from it; ``ema_decay`` if present).
        data: a :class:`ganedit.data.TrainData`, or training paths by role (``{"a": [...],
            "b": [...]}``; a list of paths is role ``"data"``): then
            ``family.dataset(roles, config)`` builds it.
        out_dir: run folder: ``checkpoints/``, ``samples/``, ``metrics.jsonl``, ``losses.png``,
            ``<family>.safetensors`` + ``.json`` card (every generator, EMA'd when on).
        engine: the :class:`Engine` (default: ``Engine()``).
        options: a :class:`~ganedit.engine.options.TrainOptions`; ``values`` override its
            fields. The loop reads ``steps`` (total; a resumed run continues up to it),
            ``resume`` (``True``: from the newest checkpoint in ``out_dir``, a fresh start when
            there is none; a path: from that checkpoint), ``checkpoint_every``, ``keep_last``,
            ``sample_every`` (0: only at the end), ``log_every``, ``ema_decay`` (also ``ema``:
            the generators' EMA decay, default ``config.ema_decay`` when it exists; 0/None
            off), ``num_samples``, ``max_bad_steps`` (NaN/Inf steps in a row before rolling
            back and raising :class:`TrainingDiverged`) and ``progress``.
        val: a TrainData (or paths by role) whose first items are the fixed sample-grid inputs
            (IMAGE kinds; default: the training data's).
        data_paths: recorded in the weights card (default: the paths of ``data``).
        lr_schedule: the learning-rate curve over ``steps`` (default: constant). Every
            optimiser group's base rate is its ``lr`` as ``family.optimizers`` set it (the
            Config's), also on resume, so ``--resume --lr X`` does change the rate.
        callbacks: extra callbacks for this run only (``ganedit.train`` passes the plugins'
            ``ganedit_train_callbacks`` here), besides the engine's own.
        values: the ``scope="fit"`` fields of :class:`~ganedit.engine.options.TrainOptions`
            by name (``steps`` is required unless ``options`` is given).

    Returns:
        A :class:`FitResult`.
    """
    opt = TrainOptions.parse(values, options, scope="fit", caller="fit")
    out = Path(out_dir)
    engine = _run_engine(engine or Engine(), family, config, out, opt.ema_decay)
    paths = _paths_by_role(data, data_paths)
    run = _Run(family, config, engine, out, opt, paths, lr_schedule or LRSchedule())
    engine.run_callbacks = list(callbacks)
    try:
        run.setup(data, val)
        run.restore()
        return run.run()
    finally:
        engine.run_callbacks = []
