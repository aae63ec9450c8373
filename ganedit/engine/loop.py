"""``fit``: the only training loop (resume, NaN guard, checkpoints, samples, logs, signals)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ganedit.config import config_to_dict
from ganedit.engine.checkpoint import checkpoint_step, list_checkpoints
from ganedit.engine.distributed import barrier, broadcast_buffers
from ganedit.engine.engine import Engine
from ganedit.engine.monitor import make_grid, pair_grid, truncate_metrics
from ganedit.engine.schedule import LRSchedule, apply_lr, base_lrs
from ganedit.family import Kind, ModelFamily

__all__ = ["FitResult", "TrainingDiverged", "fit"]


class TrainingDiverged(RuntimeError):
    """Several training steps in a row had NaN/Inf losses or gradients."""


@dataclass
class FitResult:
    """What :func:`fit` did: the last ``step``, the exported ``weights`` path (rank 0), the
    last logged ``metrics``, ``interrupted`` (stopped by SIGINT/SIGTERM or a callback)."""

    step: int
    weights: Path | None
    out_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    checkpoint: Path | None = None


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


def _plugin_callbacks(family: ModelFamily, config: Any) -> list[Any]:
    try:
        from ganedit.plugins import get_plugin_manager
    except ImportError:
        return []
    out: list[Any] = []
    for result in get_plugin_manager().hook.ganedit_train_callbacks(family=family, config=config):
        out.extend(result or [])
    return out


def _as_float(v: Any) -> float:
    return float(v.detach().float().item()) if isinstance(v, torch.Tensor) else float(v)


def fit(
    family: ModelFamily,
    config: Any,
    data: Any,
    out_dir: str | Path,
    engine: Engine | None = None,
    *,
    steps: int,
    resume: bool | str | Path = False,
    val: Any = None,
    checkpoint_every: int = 1000,
    keep_last: int = 3,
    sample_every: int = 500,
    log_every: int = 10,
    ema: float | None = None,
    num_samples: int = 16,
    max_bad_steps: int = 3,
    progress: bool = True,
    data_paths: Sequence[str | Path] = (),
    lr_schedule: LRSchedule | None = None,
) -> FitResult:
    """Train ``family`` for ``steps`` optimisation steps (the only training loop).

    Args:
        family: a trainable :class:`ganedit.ModelFamily` instance.
        config: its Config instance (``batch_size`` is read from it; ``ema_decay`` if present).
        data: a :class:`ganedit.io.datasets.TrainData` (or data paths: then
            ``family.dataset(paths, config)`` builds it).
        out_dir: run folder: ``checkpoints/``, ``samples/``, ``metrics.jsonl``, ``losses.png``,
            ``<family>.safetensors`` + ``.json`` card.
        engine: the :class:`Engine` (default: ``Engine()``).
        steps: total steps (a resumed run continues up to this number).
        resume: ``True``: continue from the newest checkpoint in ``out_dir`` (fresh start when
            there is none); a path: from that checkpoint.
        val: a TrainData whose first items are the fixed sample-grid inputs (IMAGE kinds;
            default: the training data's).
        checkpoint_every, keep_last: save every N steps and at the end; keep the newest K.
        sample_every: write ``samples/step-<k>.png`` every N steps (0: only at the end).
        log_every: append to ``metrics.jsonl`` every N steps.
        ema: EMA decay of the generator (default ``config.ema_decay`` when it exists; 0/None off).
        max_bad_steps: NaN/Inf steps in a row before rolling back and raising
            :class:`TrainingDiverged`.
        data_paths: recorded in the weights card.
        lr_schedule: the learning-rate curve over ``steps`` (default: constant). Every
            optimiser group's base rate is its ``lr`` as ``family.optimizers`` set it (the
            Config's), also on resume, so ``--resume --lr X`` does change the rate.

    Returns:
        A :class:`FitResult`.
    """
    engine = engine or Engine()
    out = Path(out_dir)
    engine.family, engine.config, engine.out_dir = family, config, out
    engine.should_stop = False
    engine.stop_reason = ""
    decay = ema if ema is not None else getattr(config, "ema_decay", None)
    engine.ema_decay = float(decay) if decay else None
    engine.callbacks = [*engine.callbacks, *_plugin_callbacks(family, config)]
    batch_size = int(getattr(config, "batch_size", 0) or 0)
    if batch_size <= 0:
        raise ValueError(f"{family.name}: config.batch_size must be a positive int")
    engine.batch_size = batch_size
    ckpt_dir = out / "checkpoints"
    if engine.is_main:
        out.mkdir(parents=True, exist_ok=True)

    engine.seed_everything()
    nets = engine.setup(family.build(config))
    opts = family.optimizers(nets, config)
    schedule = lr_schedule or LRSchedule()
    engine.lr_schedule = schedule
    base = base_lrs(opts)
    if not hasattr(data, "next_batch"):
        data_paths = list(data_paths) or [str(p) for p in data]
        data = family.dataset([Path(p) for p in data], config)
    engine.data = data.setup(
        engine.device, rank=engine.rank, world=engine.world_size, seed=engine.seed
    )
    if val is not None:
        val.setup(engine.device, seed=engine.seed)

    # fixed sample-grid inputs, drawn without touching the training RNG streams
    with torch.random.fork_rng(devices=[engine.device] if engine.device.type == "cuda" else []):
        if family.kind == Kind.GENERATE:
            fixed: Any = family.latent(
                num_samples, config, torch.Generator().manual_seed(engine.seed)
            )
        else:
            fixed = family.validation_inputs((val or data).preview(num_samples))

    start_ckpt: Path | None = None
    if resume:
        found = list_checkpoints(ckpt_dir)
        start_ckpt = (
            Path(resume) if not isinstance(resume, bool) else (found[-1] if found else None)
        )
        if start_ckpt is not None:
            engine.load_state_dict(engine.load(start_ckpt), nets, opts)
            if engine.is_main:
                truncate_metrics(out / "metrics.jsonl", engine.step_index)
    else:
        engine.step_index = 0
        if engine.is_main and (out / "metrics.jsonl").exists():
            (out / "metrics.jsonl").unlink()

    def save_checkpoint() -> Path | None:
        for net in engine.nets_raw.values():
            broadcast_buffers(net)
        path = engine.save(
            ckpt_dir / f"step-{engine.step_index:08d}", engine.state_dict(nets, opts)
        )
        if path is not None:
            for old in list_checkpoints(ckpt_dir)[: -max(1, keep_last)]:
                for f in (old, old.with_suffix(".safetensors")):
                    f.unlink(missing_ok=True)
            engine.call(
                "on_checkpoint",
                engine=engine,
                family=family,
                config=config,
                step=engine.step_index,
                path=path,
                out_dir=out,
            )
        barrier()
        return path

    def write_samples() -> None:
        if not engine.is_main:
            return
        from ganedit.io import write_image

        gen = engine.ema.module if engine.ema is not None else engine.nets_raw["generator"]
        was_training = gen.training
        gen.eval()
        with (
            torch.no_grad(),
            torch.random.fork_rng(devices=[engine.device] if engine.device.type == "cuda" else []),
        ):
            with engine.autocast():
                if family.kind == Kind.GENERATE:
                    grid = make_grid(family.predict(gen, fixed.to(engine.device)).float())
                else:
                    x, mask = fixed if isinstance(fixed, tuple) else (fixed, None)
                    y = family.predict(gen, x, mask) if mask is not None else family.predict(gen, x)
                    grid = pair_grid(x.float(), y.float())
        gen.train(was_training)
        write_image(out / "samples" / f"step-{engine.step_index:08d}.png", grid)

    last_metrics: dict[str, float] = {}
    last_ckpt: Path | None = start_ckpt
    bad_in_row = 0
    engine.call(
        "on_fit_start",
        engine=engine,
        family=family,
        config=config,
        step=engine.step_index,
        out_dir=out,
    )
    pbar = None
    if progress and engine.is_main:
        from tqdm.auto import tqdm

        pbar = tqdm(
            total=steps,
            initial=engine.step_index,
            desc=family.name,
            unit="step",
            dynamic_ncols=True,
        )
    t_last, n_last, img_s = time.perf_counter(), engine.step_index, 0.0
    saved_at = -1
    try:
        with _stop_on_signals(engine):
            while engine.step_index < steps and not engine.should_stop:
                factor = schedule.factor(engine.step_index, steps)
                apply_lr(opts, base, factor)
                batch = data.next_batch(batch_size)
                engine.bad_step = False
                losses = family.training_step(nets, opts, batch, engine)
                if engine.bad_step:
                    bad_in_row += 1
                    if bad_in_row >= max_bad_steps:
                        raise _diverged(
                            engine,
                            nets,
                            opts,
                            last_ckpt,
                            bad_in_row,
                            family,
                            config,
                            out,
                            data_paths,
                        )
                else:
                    bad_in_row = 0
                    if engine.ema is not None:
                        engine.ema.update(engine.nets_raw["generator"])
                engine.step_index += 1
                step = engine.step_index
                if engine.world_size > 1:
                    flag = torch.tensor([1.0 if engine.should_stop else 0.0], device=engine.device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    engine.should_stop = bool(flag.item())
                metrics: dict[str, float] | None = None
                if step % max(1, log_every) == 0 or step == steps or engine.should_stop:
                    now = time.perf_counter()
                    img_s = (
                        (step - n_last) * batch_size * engine.world_size / max(now - t_last, 1e-9)
                    )
                    t_last, n_last = now, step
                    metrics = {k: _as_float(v) for k, v in losses.items()}
                    metrics["img_per_s"] = round(img_s, 2)
                    if schedule.kind != "constant" or schedule.warmup_steps:
                        metrics["lr_factor"] = round(factor, 6)
                    metrics["skipped"] = int(engine.bad_step)
                    last_metrics = metrics
                    engine.log(metrics, step)
                    if pbar is not None:
                        pbar.set_postfix(
                            {k: f"{v:.4g}" for k, v in metrics.items() if k != "skipped"},
                            refresh=False,
                        )
                if pbar is not None:
                    pbar.update(1)
                engine.call(
                    "on_step_end",
                    engine=engine,
                    family=family,
                    config=config,
                    step=step,
                    metrics=metrics or {},
                    out_dir=out,
                )
                if sample_every and step % sample_every == 0:
                    write_samples()
                # no checkpoint inside a streak of NaN steps: the rollback point stays clean
                if checkpoint_every and step % checkpoint_every == 0 and bad_in_row == 0:
                    last_ckpt = save_checkpoint() or last_ckpt
                    saved_at = step
            if saved_at != engine.step_index:
                last_ckpt = save_checkpoint() or last_ckpt
            weights = _export(engine, nets, family, config, out, last_metrics, data_paths)
            if engine.is_main:
                write_samples()
                from ganedit.engine.plot import plot_run

                if (out / "metrics.jsonl").exists():
                    plot_run(out)
    finally:
        if pbar is not None:
            pbar.close()
    result = FitResult(
        step=engine.step_index,
        weights=weights,
        out_dir=out,
        metrics=last_metrics,
        interrupted=engine.step_index < steps,
        checkpoint=last_ckpt,
    )
    engine.call(
        "on_fit_end",
        engine=engine,
        family=family,
        config=config,
        step=engine.step_index,
        metrics=last_metrics,
        path=weights,
        out_dir=out,
    )
    return result


def _export(
    engine: Engine,
    nets: dict,
    family: ModelFamily,
    config: Any,
    out: Path,
    metrics: dict[str, float],
    data_paths: Sequence[str | Path],
) -> Path | None:
    """Write the generator (its EMA when enabled) as ``<out>/<family>.safetensors`` + card."""
    if not engine.is_main:
        barrier()
        return None
    from ganedit.weights import save_weights

    gen = engine.ema.module if engine.ema is not None else engine.nets_raw["generator"]
    card = {
        "family": family.name,
        "config": config_to_dict(config),
        "training": {
            "command": list(sys.argv),
            "data": [str(p) for p in data_paths],
            "step": engine.step_index,
            "seed": engine.seed,
            "device": str(engine.device),
            "precision": engine.strategy.name,
            "world_size": engine.world_size,
            "ema_decay": engine.ema_decay,
            "deterministic": engine.deterministic,
            "lr_schedule": (engine.lr_schedule or LRSchedule()).to_dict(),
        },
        "metrics": metrics,
    }
    path = save_weights(out / f"{family.name}.safetensors", gen.state_dict(), card)
    barrier()
    return path


def _diverged(
    engine: Engine,
    nets: dict,
    opts: dict,
    last_ckpt: Path | None,
    bad: int,
    family: ModelFamily,
    config: Any,
    out: Path,
    data_paths: Sequence[str | Path],
) -> TrainingDiverged:
    step = engine.step_index + 1
    msg = (
        f"training diverged: {bad} steps in a row had NaN/Inf losses or gradients (at step {step})"
    )
    if last_ckpt is not None:
        engine.load_state_dict(engine.load(last_ckpt), nets, opts)
        _export(engine, nets, family, config, out, {}, data_paths)
        msg += (
            f"; rolled back to {last_ckpt} (step {checkpoint_step(last_ckpt)}) and exported its weights."
            " Lower the learning rate or try --precision fp32, then --resume."
        )
    else:
        msg += "; no checkpoint to roll back to (the weights never received a NaN update)."
    return TrainingDiverged(msg)
