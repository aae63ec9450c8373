"""The model groups ``ganedit run|train|sample|eval MODEL``: each ``MODEL`` sub-command is
built on first use from the family class (:func:`model_group`, :func:`model_command`), and
:func:`load_editor` loads the family as its options say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ganedit.cli.common import CONTEXT, ENV_EPILOG, _config_options, _split_options
from ganedit.family import ModelFamily


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


def model_group(
    name: str,
    factory: Callable[[type[ModelFamily]], click.Command],
    accepts: Callable[[type[ModelFamily]], bool],
    need: str,
) -> ModelGroup:
    """The command ``ganedit NAME`` whose sub-commands are the families ``accepts`` takes, each
    made by ``factory`` on first use; its help is ``factory``'s docstring (what those commands
    do), ``need`` says why another family is refused."""
    return ModelGroup(name, help=factory.__doc__, factory=factory, accepts=accepts, need=need)


def model_command(
    cls: type[ModelFamily],
    callback: Callable[..., Any],
    params: list[click.Parameter],
    description: str,
    *,
    reserved: set[str],
    command: str,
) -> click.Command:
    """The sub-command ``MODEL`` of the model group ``command``: ``params``, then one option per
    Config field of ``cls`` for that command (not those named in ``reserved``, see
    :func:`_config_options`); ``cls.summary`` then ``description`` as help."""
    return click.Command(
        cls.name,
        callback=callback,
        params=[*params, *_config_options(cls, command=command, reserved=reserved)],
        context_settings=CONTEXT,
        help=f"{cls.summary}\n\n{description}",
        short_help=cls.summary,
        epilog=ENV_EPILOG,
    )


def load_editor(
    cls: type[ModelFamily], kw: dict[str, Any], common: set[str], **options: Any
) -> Any:
    """:func:`ganedit.load` of ``cls`` with the command's ``--weights``, ``--device`` and
    ``--precision`` (``kw``), the Config fields the user set (the values of ``kw`` not named
    in ``common`` and not ``None``) and the other ``options``."""
    from ganedit.infer import load

    return load(
        cls.name, weights=kw["weights"], device=kw["device"], precision=kw["precision"],
        **options, **_split_options(kw, common),
    )  # fmt: skip
