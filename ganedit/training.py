"""``ganedit.train(name, ...)``: resolve a family and its config, collect the plugins'
callbacks, build the data by role, and run :func:`ganedit.engine.fit`.

This is the one place where training meets plugin discovery: :mod:`ganedit.engine` itself
never imports :mod:`ganedit.plugins`.

The config of a run is the family's defaults, then (on ``resume``) the run's saved
``config.json``, then ``config_file`` (TOML/JSON), then ``overrides`` (``"key=value"``), then
``batch_size`` / ``lr`` / ``ema`` when given.

Example::

    import ganedit
    ganedit.train("cyclegan", data={"a": ["horses/"], "b": ["zebras/"]}, out="runs/h2z",
                  steps=20_000)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ganedit.config import (
    ConfigError,
    config_to_dict,
    load_config_file,
    parse_override,
    update_config,
)
from ganedit.engine.engine import Engine
from ganedit.engine.loop import FitResult, as_roles, fit
from ganedit.engine.options import TrainOptions
from ganedit.engine.schedule import LRSchedule
from ganedit.family import ModelFamily
from ganedit.io.atomic import atomic_write_bytes

__all__ = ["check_roles", "check_run_folder", "train"]

DataArg = Mapping[str, Sequence[str | Path] | str | Path] | Sequence[str | Path] | str | Path


def check_roles(family: ModelFamily, roles: Mapping[str, Any], what: str = "--data") -> None:
    """Refuse data roles the family does not declare, naming the ones it accepts."""
    unknown = sorted(set(roles) - set(family.data_roles))
    if unknown:
        accepted = ", ".join(f"{r}=DIR" if r != "data" else "DIR" for r in family.data_roles)
        raise ConfigError(
            f"{family.name}: {what} role(s) {', '.join(unknown)} not accepted; "
            f"it takes {what} {accepted}"
        )


def _resolve_config(
    family: ModelFamily,
    run: Path,
    resume: bool | str | Path,
    config_file: str | Path | None,
    values: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Defaults, then the run's saved config (on resume), the config file, then ``values``."""
    config = family.Config()
    saved = run / "config.json"
    saved_schedule: dict[str, Any] = {}
    if resume and saved.is_file():
        config = update_config(config, load_config_file(saved), strict=False)
        saved_schedule = dict(json.loads(saved.read_text()).get("lr_schedule") or {})
    if config_file is not None:
        config = update_config(config, load_config_file(config_file))
    return update_config(config, values), saved_schedule


def _config_and_schedule(
    family: ModelFamily,
    run: Path,
    resume: bool | str | Path,
    config_file: str | Path | None,
    overrides: Iterable[str],
    given: dict[str, Any],
    curve: dict[str, Any],
) -> tuple[Any, LRSchedule, float | None]:
    """The run's config, its learning-rate curve and the EMA decay :func:`fit` gets (the
    ``ema_decay`` given is a Config value when the Config has that field)."""
    values: dict[str, Any] = dict(parse_override(o) for o in overrides)
    ema = given.pop("ema_decay")
    values.update({k: v for k, v in given.items() if v is not None})
    fit_ema = ema
    if ema is not None and "ema_decay" in {f.name for f in dataclasses.fields(family.Config)}:
        values["ema_decay"], fit_ema = ema, None
    config, saved_schedule = _resolve_config(family, run, resume, config_file, values)
    chosen = {k: v for k, v in curve.items() if v is not None}
    return config, LRSchedule(**{**saved_schedule, **chosen}), fit_ema


#: What a finished or started training run leaves in its folder.
RUN_FILES = ("config.json", "metrics.jsonl", "losses.png")
RUN_FOLDERS = ("checkpoints", "samples")


def _run_contents(run: Path, family: str) -> list[str]:
    """The training-run files in ``run`` (empty when it holds none): config, metrics, plot,
    checkpoints and samples folders, and the weights a run exports (``<family>.safetensors``
    of this family or of the family its ``config.json`` names; other files are not ours)."""
    if not run.is_dir():
        return []
    found = [n for n in RUN_FILES if (run / n).exists()]
    found += [f"{n}/" for n in RUN_FOLDERS if (run / n).is_dir() and any((run / n).iterdir())]
    names = {family}
    try:
        names.add(str(json.loads((run / "config.json").read_text(encoding="utf-8"))["family"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found += sorted(f"{n}.safetensors" for n in names if (run / f"{n}.safetensors").is_file())
    return found


def _check_out_is_not_data(
    run: Path, roles: Mapping[str, Sequence[Path]], val: Mapping[str, Sequence[Path]] | None
) -> None:
    """Refuse a run folder that is a data folder or inside one (by identity: a symlink or
    bind mount too): its samples and checkpoints would mix with the data."""
    from ganedit.io import check_output_location

    folders = [Path(p) for r in (roles, val or {}) for ps in r.values() for p in ps]
    try:
        check_output_location([p for p in folders if p.is_dir()], run)
    except ValueError as exc:
        raise ConfigError(str(exc).replace("output folder", "--out", 1)) from None


def check_run_folder(
    family: ModelFamily, run: Path, resume: bool | str | Path, overwrite: bool
) -> None:
    """Refuse to start a fresh run over an existing one, or resume another family's run.

    Without ``resume`` a folder that holds a run (config, metrics, checkpoints, samples,
    weights) is refused unless ``overwrite``, which deletes those first, so two runs never
    mix. With ``resume`` the run's ``config.json`` must be the same family's.

    Raises:
        ConfigError: the message names the folder and what to do.
    """
    import shutil

    if resume:
        saved = run / "config.json"
        try:
            other = json.loads(saved.read_text(encoding="utf-8")).get("family")
        except (OSError, ValueError, AttributeError):
            other = None
        if other and other != family.name:
            raise ConfigError(
                f"{run} holds a {other!r} training run, not {family.name!r}: resume it with "
                f"`ganedit train {other} --resume`, or choose another --out"
            )
        return
    found = _run_contents(run, family.name)
    if not found:
        return
    if not overwrite:
        raise ConfigError(
            f"{run} already holds a training run ({', '.join(found)}); continue it with "
            "--resume, choose another --out, or pass --overwrite to delete it and start over"
        )
    for name in found:
        target = run / name.rstrip("/")
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
            if target.suffix == ".safetensors":
                target.with_suffix(".json").unlink(missing_ok=True)


def _write_run_config(
    run: Path, family: ModelFamily, config: Any, roles: Mapping[str, Any], schedule: LRSchedule
) -> None:
    """``<run>/config.json``: what ``--resume`` restores (config, data, schedule)."""
    doc = {
        "family": family.name,
        "config": config_to_dict(config),
        "data": {k: [str(p) for p in v] for k, v in roles.items()},
        "lr_schedule": schedule.to_dict(),
    }
    atomic_write_bytes(run / "config.json", (json.dumps(doc, indent=2) + "\n").encode())


def train(
    name: str,
    data: DataArg,
    out: str | Path,
    *,
    options: TrainOptions | None = None,
    val: DataArg | None = None,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    callbacks: Iterable[Any] = (),
    **values: Any,
) -> FitResult:
    """Train the family ``name`` on ``data`` into the run folder ``out``.

    Args:
        name: an installed family (``ganedit models``).
        data: training paths by role, ``{"a": ["horses/"], "b": ["zebras/"]}``; a path or a
            list of paths is role ``"data"``. The roles a family takes are its
            ``data_roles``.
        out: the run folder (see :func:`ganedit.engine.fit`).
        options: a :class:`~ganedit.engine.options.TrainOptions` (the same options as
            ``ganedit train``); the keywords ``values`` override its fields.
        val: validation paths, like ``data`` (the fixed sample-grid inputs).
        config_file, overrides: a TOML/JSON file of Config values, and ``"key=value"``
            strings (see the module docstring for the order).
        callbacks: objects with ``on_*`` methods, besides the plugins' callbacks.
        values: any :class:`~ganedit.engine.options.TrainOptions` field by name; ``steps``
            is required unless ``options`` is given. Among them: ``batch_size``, ``lr`` (Config
            values); ``ema`` / ``ema_decay`` (sets ``config.ema_decay`` when the Config has
            that field, else it is passed to :func:`fit`); ``lr_schedule``, ``warmup_steps``,
            ``min_lr_ratio``, ``hold_steps`` (the :class:`~ganedit.engine.schedule.LRSchedule`
            over ``steps``; on ``resume`` the ones not given come from the run's
            ``config.json``, so a resumed run keeps its curve); ``overwrite`` (start afresh in
            an ``out`` that holds a run, deleting that run's files; without it, and without
            ``resume``, such a folder is refused); ``device``, ``precision``, ``compile``,
            ``memory_format``, ``seed``, ``deterministic`` (the :class:`~ganedit.engine.Engine`).

    Raises:
        ConfigError: ``out`` holds a run and neither ``resume`` nor ``overwrite`` is given,
            or ``resume`` finds another family's run.
        TypeError: a keyword that is no option, or no ``steps``.
    """
    from ganedit.plugins import train_callbacks

    opt = TrainOptions.parse(values, options)
    family, roles, val_roles, run = _checked_inputs(name, data, val, out, opt.resume, opt.overwrite)
    config, schedule, fit_ema = _config_and_schedule(
        family, run, opt.resume, config_file, overrides,
        {"batch_size": opt.batch_size, "lr": opt.lr, "ema_decay": opt.ema_decay},
        {"kind": opt.lr_schedule, "warmup_steps": opt.warmup_steps,
         "min_ratio": opt.min_lr_ratio, "hold_steps": opt.hold_steps},
    )  # fmt: skip
    engine = Engine(
        device=opt.device, precision=opt.precision, compile=opt.compile,
        memory_format=opt.memory_format, seed=opt.seed, callbacks=callbacks,
        deterministic=opt.deterministic,
    )  # fmt: skip
    if engine.is_main:
        _write_run_config(run, family, config, roles, schedule)
    return fit(
        family, config, family.dataset(roles, config), run, engine,
        options=dataclasses.replace(opt, ema_decay=fit_ema),
        val=family.dataset(val_roles, config) if val_roles else None,
        data_paths=roles, lr_schedule=schedule, callbacks=train_callbacks(family, config),
    )  # fmt: skip


def _checked_inputs(
    name: str, data: DataArg, val: DataArg | None, out: str | Path, resume: Any, overwrite: bool
) -> tuple[ModelFamily, dict[str, list[Path]], dict[str, list[Path]] | None, Path]:
    """``(family, roles, val roles, run folder)``, each checked: the family trains, the data
    roles are its own, and (rank 0) the run folder is neither data nor an unasked-for run."""
    from ganedit.infer.limits import check_environment
    from ganedit.plugins import get_family

    check_environment()
    family = get_family(name)
    if not family.is_trainable():
        raise ValueError(f"model {name!r} cannot be trained (its family has no training_step)")
    roles, val_roles = as_roles(data), (as_roles(val) if val else None)
    check_roles(family, roles)
    if val_roles is not None:
        check_roles(family, val_roles, "--val")
    run = Path(out)
    if str(os.environ.get("RANK", "0") or "0").strip() in ("0", ""):  # rank 0 decides
        _check_out_is_not_data(run, roles, val_roles)
        check_run_folder(family, run, resume, overwrite)
    return family, roles, val_roles, run
