"""Model configs: dataclasses with a help text per field.

One place converts them to and from dicts (weights cards, resolved configs), TOML/JSON files,
``--set key=value`` strings and Click options.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "SUPPORTED_FIELD_TYPES",
    "ConfigError",
    "check_config_class",
    "config_fields",
    "config_from_dict",
    "config_to_dict",
    "load_config_file",
    "option",
    "parse_override",
    "update_config",
]


class ConfigError(ValueError):
    """A config key or value the family's Config does not accept."""


T = TypeVar("T")


def option(
    default: T, help: str, *, train_only: bool = False, eval_only: bool = False, **meta: Any
) -> T:
    """One Config field: its ``default`` and its ``--help`` text, said once.

    ``width: int = option(64, "Channels of the first layer.")`` is
    ``field(default=64, metadata={"help": "Channels of the first layer."})``.

    Args:
        default: the field's default. A ``list``, ``dict`` or ``set`` becomes a
            ``default_factory`` (each Config gets its own copy); tuples and scalars are used as
            they are.
        help: the help text shown by ``--help`` (``metadata["help"]``).
        train_only: a training setting: an option of ``ganedit train`` only
            (``metadata["train_only"] = True``).
        eval_only: a setting of the family's ``evaluate``: an option of ``ganedit eval`` only
            (``metadata["eval_only"] = True``).
        **meta: further metadata keys, kept as given after these.

    Returns:
        A :func:`dataclasses.field` (typed as ``default``'s type, so it can be assigned in a
        ``@dataclass`` body).

    Raises:
        ValueError: ``train_only`` and ``eval_only`` both given (a field belongs to one
            command at most).
    """
    if train_only and eval_only:
        raise ValueError(
            f"option {help!r}: train_only and eval_only exclude each other (train_only: "
            "an option of `ganedit train` only; eval_only: of `ganedit eval` only)"
        )
    metadata: dict[str, Any] = {"help": help}
    if train_only:
        metadata["train_only"] = True
    if eval_only:
        metadata["eval_only"] = True
    metadata.update(meta)
    if isinstance(default, (list, dict, set)):
        factory = functools.partial(copy.deepcopy, default)
        return dataclasses.field(default_factory=factory, metadata=metadata)  # type: ignore[return-value]
    return dataclasses.field(default=default, metadata=metadata)


MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def check_memory_format(value: object) -> str:
    """Normalise a memory-format option: ``auto``, ``channels_last`` or ``contiguous``.

    Shared by training (:class:`ganedit.engine.Engine`) and inference
    (:mod:`ganedit.infer.options`), which is why it lives in this layer below both."""
    v = "auto" if value is None else str(value).strip().lower().replace("-", "_")
    if v not in MEMORY_FORMATS:
        raise ValueError(f"memory_format must be one of {', '.join(MEMORY_FORMATS)}, got {value!r}")
    return v


def config_fields(config_cls: type) -> list[dataclasses.Field]:
    """The dataclass fields of ``config_cls`` (empty for a non-dataclass)."""
    if not dataclasses.is_dataclass(config_cls):
        return []
    return list(dataclasses.fields(config_cls))


def _field_type(config_cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(config_cls)
    return hints.get(f.name, str)


def _base_type(tp: Any) -> Any:
    """``int | None`` -> ``int``; ``Literal['a','b']`` stays; ``tuple[int, ...]`` stays."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return tp


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` (often a string from the CLI) to the field type ``tp``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if type(None) in typing.get_args(tp):
                return None
        return coerce(value, _base_type(tp), key)
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        for c in choices:
            if value == c or str(value) == str(c):
                return c
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, choices))}")
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        (inner, *_rest) = typing.get_args(tp) or (str,)
        items = [coerce(v, inner, key) for v in value]
        return tuple(items) if origin is tuple else items
    try:
        if tp is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return (
                int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
            )
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{key}: {value!r} is not a valid {getattr(tp, '__name__', tp)}"
        ) from None
    return value


#: What a Config field may be declared as (checked when a family registers).
SUPPORTED_FIELD_TYPES = (
    "int, float, bool, str; Literal[...] of those; X | None of any of these; "
    "tuple[X, ...], tuple[X, X, ...] or list[X] of int, float, bool or str"
)
_SCALARS = (int, float, bool, str)


def _type_problem(tp: Any) -> str | None:
    """Why ``tp`` is not a supported Config field type, or None."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp in _SCALARS:
        return None
    if origin is typing.Literal:
        bad = [a for a in args if not isinstance(a, _SCALARS)]
        return f"Literal values must be int, float, bool or str, not {bad!r}" if bad else None
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            return f"a union may only add None to one type, got {tp!r}"
        return _type_problem(rest[0])
    if origin in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        if not inner or any(a not in _SCALARS for a in inner):
            return f"{getattr(origin, '__name__', origin)} items must be int, float, bool or str"
        return None
    return f"unsupported type {getattr(tp, '__name__', tp)!r}"


def check_config_class(config_cls: Any) -> list[str]:
    """Problems with a family's Config class: not a dataclass, a field without a default, or
    a field type outside :data:`SUPPORTED_FIELD_TYPES`. Empty when it is fine."""
    if not dataclasses.is_dataclass(config_cls) or not isinstance(config_cls, type):
        return [f"Config must be a dataclass, got {config_cls!r}"]
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception as exc:  # noqa: BLE001 - an unresolvable annotation is the plugin's bug
        return [f"Config annotations cannot be resolved ({type(exc).__name__}: {exc})"]
    problems = []
    for f in dataclasses.fields(config_cls):
        no_default = f.default is dataclasses.MISSING
        if no_default and f.default_factory is dataclasses.MISSING:
            problems.append(f"field {f.name!r} has no default")
        why = _type_problem(hints.get(f.name, f.type))
        if why:
            problems.append(f"field {f.name!r}: {why} (supported: {SUPPORTED_FIELD_TYPES})")
    return problems


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-safe dict of a config dataclass instance (tuples become lists)."""
    if config is None or not dataclasses.is_dataclass(config):
        return {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def update_config(config: Any, values: Mapping[str, Any], *, strict: bool = True) -> Any:
    """A copy of ``config`` with ``values`` applied (coerced to each field's type).

    Unknown keys raise :class:`ConfigError` naming the valid ones when ``strict``; otherwise they
    are ignored (used when reading a card written by a newer version of a family).
    """
    cls = type(config)
    names = {f.name: f for f in config_fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        k = key.replace("-", "_")
        if k not in names:
            if strict:
                raise ConfigError(
                    f"unknown option {key!r}; valid: {', '.join(sorted(names)) or '(none)'}"
                )
            continue
        changes[k] = coerce(value, _field_type(cls, names[k]), k)
    return dataclasses.replace(config, **changes) if changes else config


def config_from_dict(config_cls: type, values: Mapping[str, Any], *, strict: bool = True) -> Any:
    """``config_cls()`` updated with ``values`` (see :func:`update_config`)."""
    return update_config(config_cls(), values, strict=strict)


def parse_override(text: str) -> tuple[str, str]:
    """``"key=value"`` -> ``("key", "value")``; raises :class:`ConfigError` otherwise."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    return key, value.strip()


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` config file into a flat dict.

    A TOML file may hold the keys at top level or under a ``[config]`` table; a JSON file may be
    a flat object or a weights card / resolved config with a ``"config"`` object.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc.strerror or exc})") from None
    try:
        if p.suffix.lower() == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
        raise ConfigError(
            f"{p}: not a valid {p.suffix.lstrip('.') or 'JSON'} file ({exc})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a table/object of options")
    if isinstance(data.get("config"), dict):
        data = data["config"]
    return dict(data)


def field_help(f: dataclasses.Field) -> str:
    """The help text of a config field (its ``metadata["help"]``)."""
    return str(f.metadata.get("help", "")) if f.metadata else ""


def iter_click_params(config_cls: type) -> Iterable[tuple[str, Any, Any, str, Any]]:
    """``(name, click_type, default, help, is_flag)`` per config field, for building options."""
    import click

    for f in config_fields(config_cls):
        tp = _base_type(_field_type(config_cls, f))
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            )
        )
        origin = typing.get_origin(tp)
        if origin is typing.Literal:
            ctype: Any = click.Choice([str(c) for c in typing.get_args(tp)])
        elif tp is bool:
            ctype = bool
        elif tp in (int, float):
            ctype = tp
        else:
            ctype = str
        yield f.name, ctype, default, field_help(f), tp is bool
