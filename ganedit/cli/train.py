"""``ganedit train MODEL --data DIR --out RUN_DIR``: train a model family."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import _split_options, _user_errors, device_options, option_from_field
from ganedit.cli.model_commands import model_command, model_group
from ganedit.cli.roles import roles_option
from ganedit.engine.options import TrainOptions
from ganedit.family import ModelFamily

#: The options every ``ganedit train MODEL`` has: the inputs below and the command-line fields
#: of :class:`~ganedit.engine.options.TrainOptions` (a Config field of the same name is no
#: separate option).
TRAIN_INPUTS = ("data", "val", "out", "config", "set")
CLI_FIELDS = tuple(
    f.name for f in TrainOptions.fields() if f.metadata.get("cli", True) is not False
)
TRAIN_COMMON = {*TRAIN_INPUTS, *CLI_FIELDS}


def _option_params(group: str | None) -> list[click.Parameter]:
    """Click options from the :class:`TrainOptions` fields of ``group`` (``None``: the run's
    own, ``"engine"``: where and how it runs), in declaration order; a ``cli="shared"`` field
    is the option every model command shares (``--device``, ``--precision``)."""
    params: list[click.Parameter] = []
    shared = {p.name: p for p in device_options()}
    for f in TrainOptions.fields():
        cli = f.metadata.get("cli", True)
        if cli is False or f.metadata.get("group") != group:
            continue
        params.append(shared[f.name] if cli == "shared" else option_from_field(TrainOptions, f))
    return params


def _train_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    """The options every ``ganedit train MODEL`` has (the Config fields are added by
    :func:`~ganedit.cli.model_commands.model_command`)."""
    return [
        roles_option(cls, "--data", "Training data", required=True),
        roles_option(cls, "--val", "Validation data for the sample grids", required=False),
        click.Option(
            ["--out"],
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Run folder: checkpoints, metrics.jsonl, sample grids, final weights.",
        ),
        *_option_params(None),
        click.Option(
            ["--config", "config"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="TOML or JSON file of Config values (options given here win).",
        ),
        click.Option(
            ["--set", "set"],
            multiple=True,
            metavar="KEY=VALUE",
            help="Set any Config field, e.g. --set lr=1e-4 (repeatable; wins over "
            "--config and the options above).",
        ),
        *_option_params("engine"),
    ]


def _fmt_override(key: str, value: Any) -> str:
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    return f"{key}={value}"


def _make_train(cls: type[ModelFamily]) -> click.Command:
    """Train MODEL: ganedit train MODEL --data DIR --out RUN_DIR.

    `ganedit train MODEL --help` lists that model's Config fields as options.
    """

    def callback(**kw: Any) -> None:
        from ganedit.config import parse_override
        from ganedit.training import train

        fields = _split_options(kw, TRAIN_COMMON)
        overrides = [_fmt_override(k, v) for k, v in fields.items()] + list(kw["set"])
        with _user_errors():
            for o in overrides:
                parse_override(o)
            result = train(
                cls.name,
                kw["data"],
                kw["out"],
                options=TrainOptions.parse({n: kw[n] for n in CLI_FIELDS}),
                config_file=kw["config"],
                overrides=tuple(overrides),
                val=kw["val"] or None,
            )
        weights = getattr(result, "weights", None)
        step = getattr(result, "step", "?")
        if getattr(result, "interrupted", False):
            click.echo(
                f"{cls.name}: stopped at step {step}; continue with --resume "
                f"(checkpoint: {getattr(result, 'checkpoint', None)})",
                err=True,
            )
            reason = getattr(result, "stop_reason", None)
            sys.exit({"SIGINT": 130, "SIGTERM": 143}.get(str(reason), 1))
        click.echo(f"{cls.name}: trained to step {step}; weights: {weights}")

    return model_command(
        cls,
        callback,
        _train_params(cls),
        f"Train {cls.name} on --data, writing checkpoints, logs and sample grids under --out.",
        reserved=TRAIN_COMMON,
        command="train",
    )


train_cmd = model_group(
    "train", _make_train, lambda c: c.is_trainable(), "this model cannot be trained"
)
