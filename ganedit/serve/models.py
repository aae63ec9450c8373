"""``GET /api/models``: every installed family with the fields its form is generated from.

One row per family, as ``ganedit models --json`` gives it (name, kind, plugin, summary...),
plus ``bundled_weights`` and ``fields``: the family's Config fields (not the ``train_only``
or ``eval_only`` ones: options of ``ganedit train`` / ``ganedit eval`` alone) and the
:class:`~ganedit.infer.options.RunOptions` fields that apply to its kind, each with its help,
type, default, choices and bounds. A third-party family's form needs no UI code.

``scope`` says where a run option is shown: ``"both"`` (the single-image edit and folder
runs) or ``"folder"``. ``device`` is the server's (``--device``), and ``mask``/``masks`` are
the folder panel's own pickers, so they are not fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from ganedit.config import config_fields
from ganedit.family import Kind, ModelFamily
from ganedit.infer.options import RunOptions, option_fields

__all__ = ["EDIT_OPTIONS", "SERVER_OWNED", "family_row", "field_row", "models_data"]

#: Run options set by the server or by the panels' own controls, never by the form.
SERVER_OWNED = frozenset({"device", "mask", "masks"})
#: Run options that apply to a single-image edit (the rest are folder-only): the ``load`` and
#: ``editor`` stages (less the server's own) and how the result is written.
EDIT_OPTIONS = frozenset(
    {f.name for stage in ("load", "editor") for f in option_fields(stage=stage)} - SERVER_OWNED
) | {"format", "quality", "strip_metadata", "accept_damaged"}
#: Options that make sense for a GENERATE family (a sample, not a folder run).
GENERATE_OPTIONS = frozenset({"weights", "precision", "batch_size"})
#: Config field metadata keys that keep a field off the page (``ganedit train`` / ``ganedit
#: eval`` options).
ONLY_ELSEWHERE = ("train_only", "eval_only")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _type(hint: Any) -> tuple[str, list[Any] | None, bool]:
    """``(type, choices, nullable)`` of a field type: int, float, bool, str, list."""
    nullable = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        hint = args[0] if args else str
        origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "choice", list(typing.get_args(hint)), nullable
    if origin in (tuple, list):
        return "list", None, nullable
    for tp in (bool, int, float):
        if hint is tp:
            return tp.__name__, None, nullable
    return "str", None, nullable


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def field_row(cls: type, f: dataclasses.Field, group: str, scope: str = "both") -> dict[str, Any]:
    """One form field: name, group (``config``/``run``), scope, type, default, help, choices,
    bounds, and ``path`` (``file``/``dir``) for a path option."""
    meta: Mapping[str, Any] = f.metadata or {}
    hint = typing.get_type_hints(cls).get(f.name, str)
    kind, choices, nullable = _type(hint)
    choices = meta.get("choices", meta.get("cli_choices", choices))
    if f.name == "weights":
        kind, choices = "str", None
    row: dict[str, Any] = {
        "name": f.name,
        "group": group,
        "scope": scope,
        "type": "choice" if choices and kind != "bool" else kind,
        "nullable": nullable,
        "default": _jsonable(_default(f)),
        "help": str(meta.get("help", "")),
    }
    if choices:
        row["choices"] = _jsonable(list(choices))
    for key in ("min", "max", "min_open", "path"):
        if key in meta:
            row[key] = meta[key]
    return row


def _bundled(cls: type[ModelFamily]) -> bool:
    try:
        return cls().default_weights(cls.Config()) is not None
    except Exception:  # noqa: BLE001 - a family that cannot answer has none to offer
        return False


def family_row(cls: type[ModelFamily], plugin: str) -> dict[str, Any]:
    """The ``models --json`` row of ``cls`` with ``bundled_weights`` and ``fields``."""
    reserved = {f.name for f in dataclasses.fields(RunOptions)}  # as on the command line
    fields = [
        field_row(cls.Config, f, "config")
        for f in config_fields(cls.Config)
        if not any(dict(f.metadata or {}).get(k) for k in ONLY_ELSEWHERE) and f.name not in reserved
    ]
    if cls.kind is Kind.GENERATE:
        run = [f for f in dataclasses.fields(RunOptions) if f.name in GENERATE_OPTIONS]
    else:
        run = [f for f in option_fields(RunOptions, kind=cls.kind) if f.name not in SERVER_OWNED]
    shared = GENERATE_OPTIONS if cls.kind is Kind.GENERATE else EDIT_OPTIONS
    for f in run:
        scope = "both" if f.name in shared else "folder"
        fields.append(field_row(RunOptions, f, "run", scope))
    return {
        "name": cls.name,
        "kind": cls.kind.value,
        "plugin": plugin,
        "trainable": cls.is_trainable(),
        "generators": list(cls.generators),
        "data_roles": list(cls.data_roles),
        "summary": cls.summary,
        "bundled_weights": _bundled(cls),
        "fields": fields,
    }


def models_data() -> list[dict[str, Any]]:
    """Every installed family's row (plugin load errors leave that plugin's families out)."""
    from ganedit.plugins import family_plugin, list_families

    return [family_row(cls, family_plugin(cls.name).name) for cls in list_families()]
