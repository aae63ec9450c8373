"""Shared pieces of the ``ganedit`` command line: option constants, the error mapping, the
``Config``-field options, the ``--tile`` type and the lazily built model groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ganedit.config import ConfigError, config_fields, iter_click_params
from ganedit.family import ModelFamily

ENV_EPILOG = (
    "Every option can also be set by an environment variable GANEDIT_<COMMAND>_<OPTION> "
    "(for model commands GANEDIT_<COMMAND>_<MODEL>_<OPTION>, dashes as underscores), e.g. "
    "GANEDIT_RUN_SRGAN_TILE=512 or GANEDIT_PLUGINS_JSON=1. Shell completion: "
    'eval "$(_GANEDIT_COMPLETE=bash_source ganedit)" in ~/.bashrc '
    "(zsh_source / fish_source for zsh and fish)."
)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEVICE_HELP = "Device: auto (first CUDA GPU, else CPU), cpu, cuda or cuda:N."
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
PRECISION_HELP = "Compute precision: auto (bf16 on a capable GPU, fp32 on CPU), fp32, bf16, fp16."
FORMAT_CHOICES = ("png", "jpg", "webp", "bmp", "tiff")


# ----------------------------------------------------------------------------- error handling
@contextmanager
def _user_errors(*, value_is_usage: bool = False) -> Iterator[None]:
    """Turn the library's user-facing errors into Click errors: unknown model and bad config
    values exit 2 (usage); other ``ValueError``/``OSError`` exit 1, or 2 when
    ``value_is_usage`` (functions that document ValueError as bad usage). A weights problem
    always exits 1."""
    from ganedit.plugins import UnknownModelError
    from ganedit.weights import WeightsError

    try:
        yield
    except (UnknownModelError, ConfigError) as exc:
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
    family_cls: type[ModelFamily], *, train: bool, reserved: set[str]
) -> list[click.Option]:
    """One option per ``Config`` field, defaulting to ``None`` (= keep the card's / Config's
    value). Fields marked ``metadata={"train_only": True}`` appear only when ``train``."""
    fields = {f.name: f for f in config_fields(family_cls.Config)}
    opts: list[click.Option] = []
    for name, ctype, default, help_text, is_flag in iter_click_params(family_cls.Config):
        meta: dict[str, Any] = dict(fields[name].metadata)
        if (meta.get("train_only") and not train) or name in reserved:
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


# ------------------------------------------------------------------------------ lazy groups
def _safe_families() -> list[type[ModelFamily]]:
    from ganedit.plugins import PluginError, list_families

    try:
        return list_families()
    except PluginError as exc:  # strict mode: still let --help through
        click.echo(f"warning: {exc}", err=True)
        return []


class ModelGroup(click.Group):
    """A group whose sub-commands are model families, each built on first use.

    Args:
        factory: ``family_cls -> click.Command``.
        accepts: which families the command applies to; others get a usage error saying why.
        need: a phrase describing ``accepts`` for that error.
    """

    def __init__(
        self,
        *args: Any,
        factory: Callable[[type[ModelFamily]], click.Command],
        accepts: Callable[[type[ModelFamily]], bool],
        need: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        kwargs.setdefault("epilog", ENV_EPILOG)
        kwargs.setdefault("subcommand_metavar", "MODEL [ARGS]...")
        super().__init__(*args, **kwargs)
        self.factory = factory
        self.accepts = accepts
        self.need = need

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [f.name for f in _safe_families() if self.accepts(f)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from ganedit.plugins import family_class

        try:
            cls = family_class(cmd_name)
        except KeyError as exc:
            if ctx.resilient_parsing:
                return None
            raise click.UsageError(str(exc), ctx) from None
        if not self.accepts(cls):
            if ctx.resilient_parsing:
                return None
            raise click.UsageError(
                f"model {cls.name!r} ({cls.kind.value}) cannot be used here: {self.need}", ctx
            )
        return self.factory(cls)


def model_command(
    cls: type[ModelFamily],
    callback: Callable[..., Any],
    params: list[click.Parameter],
    description: str,
) -> click.Command:
    """The sub-command ``MODEL`` of a model group: ``cls.summary`` then ``description`` as help."""
    return click.Command(
        cls.name,
        callback=callback,
        params=params,
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\n{description}",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


def self_ensemble_option() -> click.Option:
    """``--self-ensemble N``, for the commands that run an image model on inputs."""
    return click.Option(
        ["--self-ensemble", "self_ensemble"],
        type=click.Choice(["1", "2", "4", "8"]),
        default="1",
        show_default=True,
        callback=lambda _ctx, _param, value: int(value),
        help="Average the model over N flipped/transposed views of each input (EDSR's "
        "self-ensemble): a little more quality for N times the compute; 1 = off.",
    )


def device_options() -> list[click.Option]:
    """``--device`` and ``--precision``, the same for every command that runs a network."""
    return [
        click.Option(["--device"], default="auto", show_default=True, help=DEVICE_HELP),
        click.Option(
            ["--precision"],
            type=click.Choice(PRECISION_CHOICES),
            default="auto",
            show_default=True,
            help=PRECISION_HELP,
        ),
    ]
