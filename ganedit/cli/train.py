"""``ganedit train MODEL --data DIR --out RUN_DIR``: train a model family."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import (
    ModelGroup,
    _config_options,
    _split_options,
    _user_errors,
    device_options,
    model_command,
)
from ganedit.cli.roles import roles_option
from ganedit.engine.schedule import SCHEDULES
from ganedit.family import ModelFamily
from ganedit.infer.options import MEMORY_FORMATS

DEFAULT_STEPS = 10_000
TRAIN_COMMON = {
    "data",
    "val",
    "out",
    "steps",
    "batch_size",
    "lr",
    "lr_schedule",
    "warmup_steps",
    "min_lr_ratio",
    "resume",
    "overwrite",
    "config",
    "set",
    "device",
    "precision",
    "compile",
    "memory_format",
    "seed",
    "deterministic",
    "checkpoint_every",
    "sample_every",
    "log_every",
    "keep_last",
    "ema_decay",
    "hold_steps",
}


def _loop_params() -> list[click.Parameter]:
    """The options of the training loop: schedule hold, resume, checkpoints, samples, logs,
    EMA."""
    return [
        click.Option(
            ["--hold-steps", "hold_steps"],
            type=click.IntRange(min=0),
            default=None,
            help="Steps at the full rate after warm-up, before a decaying schedule starts "
            "(image translation papers use half of --steps) [default: 0].",
        ),
        click.Option(
            ["--resume"], is_flag=True, help="Continue from the last checkpoint in --out."
        ),
        click.Option(
            ["--overwrite"],
            is_flag=True,
            help="Start afresh in an --out that already holds a run, deleting its "
            "checkpoints, metrics, samples and weights (without it such a folder is refused).",
        ),
        click.Option(
            ["--checkpoint-every", "checkpoint_every"],
            type=click.IntRange(min=1),
            default=1000,
            show_default=True,
            help="Save a checkpoint every N steps (and at the end).",
        ),
        click.Option(
            ["--keep-last", "keep_last"],
            type=click.IntRange(min=1),
            default=3,
            show_default=True,
            help="Keep the newest N checkpoints.",
        ),
        click.Option(
            ["--sample-every", "sample_every"],
            type=click.IntRange(min=0),
            default=500,
            show_default=True,
            help="Write samples/step-N.png every N steps (0: only at the end).",
        ),
        click.Option(
            ["--log-every", "log_every"],
            type=click.IntRange(min=1),
            default=10,
            show_default=True,
            help="Append losses to metrics.jsonl every N steps.",
        ),
        click.Option(
            ["--ema-decay", "ema_decay"],
            type=click.FloatRange(0.0, 1.0, max_open=True),
            default=None,
            help="EMA decay of the generators' weights, 0 = off [default: the model's "
            "Config, when it has ema_decay].",
        ),
    ]


def _engine_params() -> list[click.Parameter]:
    """Where and how the engine runs: device, precision, compile, memory format, seed."""
    return [
        *device_options(),
        click.Option(["--compile"], is_flag=True, help="torch.compile the networks."),
        click.Option(
            ["--memory-format"],
            type=click.Choice(MEMORY_FORMATS),
            default="auto",
            show_default=True,
            help="Layout of the networks and batches: auto times forward and backward of the "
            "generators in both on a sample batch at the start (once per machine; remembered "
            "in ~/.cache/ganedit) and keeps the faster.",
        ),
        click.Option(
            ["--seed"],
            type=int,
            default=0,
            show_default=True,
            help="Random seed (weights init, data order, augmentation).",
        ),
        click.Option(
            ["--deterministic"],
            is_flag=True,
            help="Use deterministic algorithms (slower; same seed -> same run).",
        ),
    ]


def _train_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    params: list[click.Parameter] = [
        roles_option(cls, "--data", "Training data", required=True),
        roles_option(cls, "--val", "Validation data for the sample grids", required=False),
        click.Option(
            ["--out"],
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Run folder: checkpoints, metrics.jsonl, sample grids, final weights.",
        ),
        click.Option(
            ["--steps"],
            type=click.IntRange(min=1),
            default=DEFAULT_STEPS,
            show_default=True,
            help="Total training steps (a resumed run continues up to this count).",
        ),
        click.Option(
            ["--batch-size", "batch_size"],
            type=click.IntRange(min=1),
            default=None,
            help="Batch size [default: the model's Config].",
        ),
        click.Option(
            ["--lr"], type=float, default=None, help="Learning rate [default: the model's Config]."
        ),
        click.Option(
            ["--lr-schedule", "lr_schedule"],
            type=click.Choice(SCHEDULES),
            default=None,
            help="Learning-rate curve over --steps: constant, cosine or linear decay to "
            "--min-lr-ratio [default: constant; on --resume, the run's own].",
        ),
        click.Option(
            ["--warmup-steps", "warmup_steps"],
            type=click.IntRange(min=0),
            default=None,
            help="Linear learning-rate warm-up over the first N steps [default: 0].",
        ),
        click.Option(
            ["--min-lr-ratio", "min_lr_ratio"],
            type=click.FloatRange(0.0, 1.0),
            default=None,
            help="Final learning rate of a decaying schedule, as a fraction of --lr [default: 0].",
        ),
        *_loop_params(),
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
        *_engine_params(),
    ]
    params += _config_options(cls, train=True, reserved=TRAIN_COMMON)
    return params


def _fmt_override(key: str, value: Any) -> str:
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    return f"{key}={value}"


def _make_train(cls: type[ModelFamily]) -> click.Command:
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
                steps=kw["steps"],
                batch_size=kw["batch_size"],
                lr=kw["lr"],
                lr_schedule=kw["lr_schedule"],
                warmup_steps=kw["warmup_steps"],
                min_lr_ratio=kw["min_lr_ratio"],
                resume=kw["resume"],
                overwrite=kw["overwrite"],
                config_file=kw["config"],
                overrides=tuple(overrides),
                device=kw["device"],
                precision=kw["precision"],
                compile=kw["compile"],
                memory_format=kw["memory_format"],
                seed=kw["seed"],
                deterministic=kw["deterministic"],
                val=kw["val"] or None,
                checkpoint_every=kw["checkpoint_every"],
                keep_last=kw["keep_last"],
                sample_every=kw["sample_every"],
                log_every=kw["log_every"],
                ema=kw["ema_decay"],
                hold_steps=kw["hold_steps"],
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
    )


@click.command(
    "train",
    cls=ModelGroup,
    factory=_make_train,
    accepts=lambda c: c.is_trainable(),
    need="this model cannot be trained",
)
def train_cmd() -> None:
    """Train MODEL: ganedit train MODEL --data DIR --out RUN_DIR.

    `ganedit train MODEL --help` lists that model's Config fields as options.
    """
