"""``--data [ROLE=]PATH`` options: training and evaluation data by role.

A family declares its roles (``ModelFamily.data_roles``): ``--data DIR`` is role ``"data"``,
``--data a=DIR --data b=DIR`` give roles ``a`` and ``b``; each may repeat. A ``ROLE=`` prefix is
recognised only for a role the family declares, so a path that contains ``=`` still works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganedit.family import ModelFamily


def parse_roles(
    values: tuple[str, ...], family_cls: type[ModelFamily], option: str = "--data"
) -> dict[str, list[Path]]:
    """``("a=x/", "b=y/", "z/")`` -> ``{"a": [x/], "b": [y/], "data": [z/]}``.

    Raises:
        click.BadParameter: a path that does not exist, or a plain path for a family without
            a ``data`` role (the message lists the roles it takes).
    """
    roles = family_cls.data_roles
    out: dict[str, list[Path]] = {}
    for value in values:
        role, sep, rest = value.partition("=")
        if sep and role in roles:
            path = Path(rest)
        else:
            role, path = "data", Path(value)
            if "data" not in roles:
                wanted = " ".join(f"{option} {r}=DIR" for r in roles)
                raise click.BadParameter(
                    f"{value!r}: {family_cls.name} takes its data by role: {wanted}",
                    param_hint=option,
                )
        if not path.exists():
            raise click.BadParameter(f"{path}: no such file or folder", param_hint=option)
        out.setdefault(role, []).append(path)
    return out


def roles_help(family_cls: type[ModelFamily], what: str) -> str:
    """The help text of a ``--data``-style option for ``family_cls``."""
    forms = ["DIR" if r == "data" else f"{r}=DIR" for r in family_cls.data_roles]
    return f"{what}: {' or '.join(forms)} (repeatable)."


def roles_option(
    family_cls: type[ModelFamily], name: str, what: str, required: bool
) -> click.Option:
    """A repeatable ``--data``/``--val`` option whose value is the parsed role mapping."""

    def convert(ctx: click.Context, param: click.Parameter, value: Any) -> dict[str, list[Path]]:
        return parse_roles(tuple(value or ()), family_cls, name)

    return click.Option(
        [name, name.lstrip("-")],
        multiple=True,
        required=required,
        metavar="[ROLE=]PATH",
        callback=convert,
        help=roles_help(family_cls, what),
    )
