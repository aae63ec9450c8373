"""Shared pieces of the ``ganedit`` command line: option constants, the error mapping, the
``Config``-field options, the run options generated from
:class:`~ganedit.infer.options.RunOptions`, the ``--tile`` type and the options every model
command shares (``--weights``, ``--device``/``--precision``, ``--seed``, ``--self-ensemble``);
the model groups themselves are :mod:`ganedit.cli.model_commands`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ganedit.config import ConfigError, config_fields, iter_click_params
from ganedit.family import ModelFamily
from ganedit.infer.options import RunOptions, option_fields, value_type

ENV_EPILOG = (
    "Every option can also be set by an environment variable GANEDIT_<COMMAND>_<OPTION> "
    "(for model commands GANEDIT_<COMMAND>_<MODEL>_<OPTION>, dashes as underscores), e.g. "
    "GANEDIT_RUN_SRGAN_TILE=512 or GANEDIT_PLUGINS_JSON=1. Shell completion: "
    'eval "$(_GANEDIT_COMPLETE=bash_source ganedit)" in ~/.bashrc '
    "(zsh_source / fish_source for zsh and fish)."
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# ----------------------------------------------------------------------------- error handling
@contextmanager
def _user_errors(*, value_is_usage: bool = False) -> Iterator[None]:
    """Turn the library's user-facing errors into Click errors: unknown model and bad config
    values, a bad launch environment exit 2 (usage); other ``ValueError``/``OSError`` exit 1, or 2 when
    ``value_is_usage`` (functions that document ValueError as bad usage). A weights problem
    always exits 1."""
    from ganedit.engine.distributed import DistributedEnvError
    from ganedit.infer.limits import EnvVarError
    from ganedit.plugins import UnknownModelError
    from ganedit.weights import WeightsError

    try:
        yield
    except (UnknownModelError, ConfigError, DistributedEnvError, EnvVarError) as exc:
        raise click.UsageError(str(exc)) from None
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        if value_is_usage:
            raise click.UsageError(str(exc)) from None
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(str(exc)) from None


# ------------------------------------------------------------------------------ param helpers
def _config_options(
    family_cls: type[ModelFamily], *, command: str, reserved: set[str]
) -> list[click.Option]:
    """One option per ``Config`` field of ``family_cls`` for the command ``command``
    (``"train"``, ``"eval"``, ``"run"``, ``"sample"``...), defaulting to ``None`` (= keep the
    card's / Config's value). A field marked ``metadata={"train_only": True}`` is an option of
    ``train`` only, one marked ``{"eval_only": True}`` of ``eval`` only; fields named in
    ``reserved`` (the command's own options) are left out."""
    fields = {f.name: f for f in config_fields(family_cls.Config)}
    opts: list[click.Option] = []
    for name, ctype, default, help_text, is_flag in iter_click_params(family_cls.Config):
        meta: dict[str, Any] = dict(fields[name].metadata)
        only = "train" if meta.get("train_only") else "eval" if meta.get("eval_only") else None
        if (only and command != only) or name in reserved:
            continue
        flag = "--" + name.replace("_", "-")
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else default
        text = f"{help_text or name.replace('_', ' ').capitalize() + '.'} [model default: {shown}]"
        if is_flag:
            decls = [f"{flag}/--no-{name.replace('_', '-')}", name]
            opts.append(click.Option(decls, default=None, help=text))
        else:
            opts.append(click.Option([flag, name], type=ctype, default=None, help=text))
    return opts


def _split_options(kwargs: dict[str, Any], common: set[str]) -> dict[str, Any]:
    """The config-field values the user actually set (not ``None``)."""
    return {k: v for k, v in kwargs.items() if k not in common and v is not None}


class _TileType(click.ParamType):
    name = "INT|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        try:
            n = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither an integer nor 'auto'", param, ctx)
        if n < 0:
            self.fail("must be >= 0 (0 turns tiling off)", param, ctx)
        return n


TILE = _TileType()


# ------------------------------------------------------------- options from RunOptions fields
def _option_type(cls: type, f: dataclasses.Field) -> dict[str, Any]:
    """The Click ``type`` (and a converting ``callback``) of one :class:`RunOptions` (or
    :class:`~ganedit.engine.options.TrainOptions`) field."""
    meta = f.metadata
    tp = value_type(cls, f)
    if meta.get("tile"):
        return {"type": TILE, "callback": lambda _c, _p, v: None if v == "auto" else v}
    if "choices" in meta:
        choices = tuple(meta["choices"])
        kind = type(choices[0])
        return {
            "type": click.Choice([str(c) for c in choices]),
            "callback": lambda _c, _p, v: None if v is None else kind(v),
        }
    if "cli_choices" in meta:
        return {"type": click.Choice(list(meta["cli_choices"]))}
    if meta.get("path"):
        is_dir = meta["path"] == "dir"
        return {
            "type": click.Path(exists=True, file_okay=not is_dir, dir_okay=is_dir, path_type=Path)
        }
    if "min" in meta or "max" in meta:
        rng = click.IntRange if tp is int else click.FloatRange
        extra = {k: True for k in ("min_open", "max_open") if meta.get(k)}
        return {"type": rng(min=meta.get("min"), max=meta.get("max"), **extra)}
    return {"type": tp if tp in (int, float) else str}


def option_from_field(cls: type, f: dataclasses.Field) -> click.Option:
    """One Click option for one field of an options dataclass (``--name-with-dashes``):
    :class:`RunOptions` or :class:`~ganedit.engine.options.TrainOptions`."""
    decls = ["--" + f.name.replace("_", "-"), f.name]
    text = str(f.metadata.get("help", ""))
    if value_type(cls, f) is bool:
        on = bool(f.metadata.get("cli_default", f.default))
        if on:  # on from the command line: a way to turn it off
            decls = [f"{decls[0]}/--no-{decls[0][2:]}", f.name]
        return click.Option(decls, is_flag=True, default=on, help=text)
    default: Any = "auto" if f.metadata.get("tile") and f.default is None else f.default
    if "choices" in f.metadata and default is not None:
        default = str(default)
    shown = f.metadata.get("show_default", default not in (None, False))
    return click.Option(
        decls, default=default, show_default=shown, help=text, **_option_type(cls, f)
    )


def run_option_params(
    kind: Any = None,
    *,
    names: Iterable[str] | None = None,
    options_cls: type[RunOptions] = RunOptions,
) -> list[click.Option]:
    """Click options generated from :class:`~ganedit.infer.options.RunOptions` fields.

    Args:
        kind: a family :class:`~ganedit.Kind`: only the fields that apply to it (``None``:
            every field).
        names: only these fields, in this order (``None``: all, in declaration order).
        options_cls: the dataclass to read (a subclass adds options).
    """
    fields = {f.name: f for f in option_fields(options_cls, kind=kind)}
    chosen = list(fields) if names is None else [n for n in names if n in fields]
    return [option_from_field(options_cls, fields[n]) for n in chosen]


def weights_option() -> click.Option:
    """``--weights FILE``, for the commands that load a model by name (default: its bundled
    weights)."""
    return click.Option(
        ["--weights"],
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Weights file; default: the model's bundled weights.",
    )


def seed_option(help: str = "Random seed.") -> click.Option:
    """``--seed N`` (default 0)."""
    return click.Option(["--seed"], type=int, default=0, show_default=True, help=help)


def self_ensemble_option() -> click.Option:
    """``--self-ensemble N``, for the commands that run an image model on inputs."""
    return run_option_params(names=["self_ensemble"])[0]


def device_options() -> list[click.Option]:
    """``--device`` and ``--precision``, the same for every command that runs a network."""
    return run_option_params(names=["device", "precision"])
