"""``train(name, ...)``: resolve a family and its config, build the data, run :func:`fit`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ganedit.config import config_to_dict, load_config_file, parse_override, update_config
from ganedit.engine.engine import Engine
from ganedit.engine.loop import FitResult, fit
from ganedit.engine.schedule import LRSchedule
from ganedit.io.atomic import atomic_write_bytes

__all__ = ["train"]


def train(
    name: str,
    data: Sequence[str | Path] | str | Path,
    out: str | Path,
    *,
    steps: int,
    batch_size: int | None = None,
    lr: float | None = None,
    resume: bool | str | Path = False,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    seed: int = 0,
    deterministic: bool = False,
    ema: float | None = None,
    val: Sequence[str | Path] | None = None,
    checkpoint_every: int = 1000,
    keep_last: int = 3,
    sample_every: int = 500,
    log_every: int = 10,
    progress: bool = True,
    callbacks: Iterable[Any] = (),
    lr_schedule: str | None = None,
    warmup_steps: int | None = None,
    min_lr_ratio: float | None = None,
) -> FitResult:
    """Train the family ``name`` on ``data`` into the run folder ``out``.

    The config is the family's defaults, then (on ``resume``) the run's saved
    ``config.json``, then ``config_file`` (TOML/JSON), then ``overrides`` (``"key=value"``),
    then ``batch_size`` / ``lr`` / ``ema`` when given. ``ema`` sets ``config.ema_decay`` when the
    Config has that field, else it is passed to :func:`fit`.

    ``lr_schedule`` (``constant`` / ``cosine`` / ``linear``), ``warmup_steps`` and
    ``min_lr_ratio`` build the :class:`~ganedit.engine.schedule.LRSchedule` over ``steps``; on
    ``resume`` the ones not given come from the run's ``config.json``, so a resumed run keeps
    its curve. Other arguments: see :class:`Engine` and :func:`fit`.
    """
    from ganedit.plugins import get_family

    family = get_family(name)
    if not family.is_trainable():
        raise ValueError(f"model {name!r} cannot be trained (its family has no training_step)")
    run = Path(out)
    config = family.Config()
    saved = run / "config.json"
    saved_schedule: dict[str, Any] = {}
    if resume and saved.is_file():
        config = update_config(config, load_config_file(saved), strict=False)
        saved_schedule = dict(json.loads(saved.read_text()).get("lr_schedule") or {})
    given = {
        "kind": lr_schedule,
        "warmup_steps": warmup_steps,
        "min_ratio": min_lr_ratio,
    }
    schedule = LRSchedule(**{**saved_schedule, **{k: v for k, v in given.items() if v is not None}})
    if config_file is not None:
        config = update_config(config, load_config_file(config_file))
    values: dict[str, Any] = dict(parse_override(o) for o in overrides)
    if batch_size is not None:
        values["batch_size"] = batch_size
    if lr is not None:
        values["lr"] = lr
    fields = (
        {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    )
    fit_ema = ema
    if ema is not None and "ema_decay" in fields:
        values["ema_decay"] = ema
        fit_ema = None
    config = update_config(config, values)

    paths = [Path(data)] if isinstance(data, (str, Path)) else [Path(p) for p in data]
    engine = Engine(
        device=device,
        precision=precision,
        compile=compile,
        seed=seed,
        callbacks=callbacks,
        deterministic=deterministic,
    )
    if engine.is_main:
        doc = {
            "family": family.name,
            "config": config_to_dict(config),
            "data": [str(p) for p in paths],
            "lr_schedule": schedule.to_dict(),
        }
        atomic_write_bytes(saved, (json.dumps(doc, indent=2) + "\n").encode())
    dataset = family.dataset(paths, config)
    val_data = family.dataset([Path(p) for p in val], config) if val else None
    return fit(
        family,
        config,
        dataset,
        run,
        engine,
        steps=steps,
        resume=resume,
        val=val_data,
        checkpoint_every=checkpoint_every,
        keep_last=keep_last,
        sample_every=sample_every,
        log_every=log_every,
        ema=fit_ema,
        progress=progress,
        data_paths=[str(p) for p in paths],
        lr_schedule=schedule,
    )
