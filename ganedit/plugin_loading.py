"""How plugins load (the steps :mod:`ganedit.plugins` describes): the entry points of the
group ``ganedit``, the environment switches, one :class:`PluginRecord` per plugin, and each
plugin imported, registered with pluggy, checked and asked for its families in isolation.
:mod:`ganedit.plugins` holds the registry this builds and the API over it."""

from __future__ import annotations

import difflib
import importlib.metadata as md
import os
import re
import sys
import traceback
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from ganedit import hookspecs
from ganedit.config import check_config_class
from ganedit.family import Kind, ModelFamily
from ganedit.hookspecs import PROJECT

if TYPE_CHECKING:  # pragma: no cover
    import click

__all__ = [
    "BUILTIN_DIST",
    "ENTRY_POINT_GROUP",
    "DuplicateFamilyError",
    "PluginError",
    "PluginRecord",
    "load_registry",
]

ENTRY_POINT_GROUP = "ganedit"
BUILTIN_DIST = "ganedit"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PluginError(RuntimeError):
    """A plugin failed to load (raised only with ``GANEDIT_STRICT_PLUGINS=1``)."""


class DuplicateFamilyError(PluginError):
    """Two plugins registered a family under the same name."""


@dataclass
class PluginRecord:
    """What loading one plugin gave.

    Attributes:
        name: the entry-point name (``srgan``).
        dist: the distribution that declares it (``ganedit``, ``ganedit-foo``).
        version: that distribution's version.
        source: ``"built-in"`` for plugins shipped with ganedit, else the distribution name.
        module: the entry-point value (``ganedit_foo``).
        status: ``"loaded"``, ``"failed"`` (unregistered; see ``error``) or ``"disabled"``
            (skipped by ``GANEDIT_LOAD_PLUGINS`` / ``GANEDIT_DISABLE_PLUGINS``).
        families: the model families it registered.
        commands: the CLI commands it added (filled when the CLI asks for them).
        error: why it failed, or what of it was refused; ``None`` when all went well.
    """

    name: str
    dist: str | None
    version: str | None
    source: str
    module: str = ""
    status: str = "loaded"
    families: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    error: str | None = None

    def add_error(self, message: str) -> None:
        """Append ``message`` to :attr:`error`."""
        self.error = message if not self.error else f"{self.error}; {message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the record."""
        return asdict(self)


@dataclass
class _Registry:
    pm: pluggy.PluginManager
    records: dict[str, PluginRecord] = field(default_factory=dict)
    families: dict[str, tuple[type[ModelFamily], str]] = field(default_factory=dict)
    instances: dict[str, ModelFamily] = field(default_factory=dict)
    commands: dict[str, click.Command] | None = None
    executors: dict[str, type] | None = None


# ------------------------------------------------------------------------------- environment
def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")


def _strict() -> bool:
    return _env_flag("GANEDIT_STRICT_PLUGINS")


def _trace(message: str) -> None:
    if _env_flag("GANEDIT_TRACE_PLUGINS"):
        print(f"ganedit plugins: {message}", file=sys.stderr, flush=True)


def _trace_exc() -> None:
    if _env_flag("GANEDIT_TRACE_PLUGINS"):
        traceback.print_exc(file=sys.stderr)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------------- loading
def _entry_points() -> list[md.EntryPoint]:
    """Entry points of the group, built-ins first, then by name; duplicates dropped."""
    seen: set[tuple[str, str]] = set()
    eps = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        key = (ep.name, ep.value)
        if key in seen:
            continue
        seen.add(key)
        eps.append(ep)

    def order(ep: md.EntryPoint) -> tuple[int, str]:
        dist = _dist_name(ep)
        return (0 if dist and _canon(dist) == BUILTIN_DIST else 1, ep.name)

    return sorted(eps, key=order)


def _dist_name(ep: md.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    try:
        return str(dist.metadata["Name"] or dist.name)
    except Exception:  # noqa: BLE001 - broken METADATA: still load the plugin
        return getattr(dist, "name", None)


def _new_record(ep: md.EntryPoint) -> PluginRecord:
    dist_name = _dist_name(ep)
    dist = getattr(ep, "dist", None)
    version = getattr(dist, "version", None) if dist is not None else None
    builtin = dist_name is not None and _canon(dist_name) == BUILTIN_DIST
    return PluginRecord(
        name=ep.name,
        dist=dist_name,
        version=version,
        source="built-in" if builtin else (dist_name or "unknown"),
        module=ep.value,
    )


def _skip_reason(rec: PluginRecord) -> str | None:
    names = {_canon(rec.name)} | ({_canon(rec.dist)} if rec.dist else set())
    disabled = {_canon(n) for n in _env_list("GANEDIT_DISABLE_PLUGINS") or []}
    if names & disabled:
        return "disabled by GANEDIT_DISABLE_PLUGINS"
    allow = _env_list("GANEDIT_LOAD_PLUGINS")
    if allow is not None and rec.source != "built-in" and not names & {_canon(n) for n in allow}:
        return (
            "not in GANEDIT_LOAD_PLUGINS"
            if allow
            else "GANEDIT_LOAD_PLUGINS is empty (built-ins only)"
        )
    return None


def _fail(reg: _Registry, rec: PluginRecord, message: str, plugin: object | None = None) -> None:
    """Mark ``rec`` failed, unregister its plugin and drop its families (or raise if strict)."""
    rec.add_error(message)
    rec.status = "failed"
    _trace(f"{rec.name}: FAILED: {message}")
    if plugin is not None and reg.pm.is_registered(plugin):
        reg.pm.unregister(plugin)
    for fam in rec.families:
        entry = reg.families.get(fam)
        if entry is not None and entry[1] == rec.name:
            del reg.families[fam]
    rec.families = []
    if _strict():
        raise PluginError(f"plugin {rec.name!r} ({rec.source}): {message}")


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    callers = pm.get_hookcallers(plugin) or []
    return sorted(hc.name for hc in callers if not hc.has_spec())


def _register_plugin(reg: _Registry, ep: md.EntryPoint, rec: PluginRecord) -> None:
    pm = reg.pm
    _trace(f"{rec.name}: importing {ep.value} from {rec.dist} {rec.version}")
    try:
        module = ep.load()
    except (Exception, SystemExit) as exc:
        _trace_exc()
        _fail(reg, rec, f"import of {ep.value!r} failed: {_describe(exc)}")
        return
    if pm.get_plugin(rec.name) is not None:
        other = reg.records.get(rec.name)
        _fail(
            reg,
            rec,
            f"plugin name {rec.name!r} is already used by {other.source if other else '?'}",
        )
        return
    if pm.is_registered(module):
        _fail(reg, rec, f"module {ep.value!r} is already registered as {pm.get_name(module)!r}")
        return
    _trace(f"{rec.name}: registering hooks")
    try:
        pm.register(module, name=rec.name)
    except Exception as exc:  # noqa: BLE001 - pluggy validation or a plugin's odd __getattr__
        _trace_exc()
        message = str(exc).strip()
        m = re.search(r"Argument\(s\) (\{.*?\}) are declared in the hookimpl", message)
        hook = re.search(r"for hook '([^']+)'", message)
        if m and hook:
            message = (
                f"hook implementation {hook.group(1)!r} takes argument(s) {m.group(1)} "
                "that its hook spec does not provide"
            )
        else:
            message = f"pluggy refused its hooks: {_describe(exc)}"
        _fail(reg, rec, message, module)
        return
    if not pm.get_hookcallers(module):
        _fail(
            reg,
            rec,
            f"module {ep.value!r} implements no ganedit hook (decorate its functions with "
            "@ganedit.hookimpl, e.g. ganedit_register_models)",
            module,
        )
        return
    unknown = _unknown_hooks(pm, module)
    if unknown:
        known = sorted(n for n in dir(hookspecs) if n.startswith("ganedit_"))
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        _fail(reg, rec, f"unknown hook(s) {', '.join(parts)}: no such hook spec", module)
        return
    try:  # pluggy's own check, for anything the scan above missed
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        _fail(reg, rec, f"unknown hook: {_describe(exc)}", module)


def _validate_family(cls: Any) -> str | None:
    if not isinstance(cls, type) or not issubclass(cls, ModelFamily):
        return f"register() expects a ModelFamily subclass, got {cls!r}"
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return f"{cls.__qualname__}.name {name!r} must match [a-z0-9-]+"
    if not isinstance(cls.kind, Kind):
        return f"{cls.__qualname__}.kind must be a ganedit.Kind, got {cls.kind!r}"
    for attr in ("generators", "data_roles"):
        value = getattr(cls, attr)
        if (
            not isinstance(value, tuple)
            or not value
            or not all(isinstance(v, str) and v.isidentifier() for v in value)
        ):
            return f"{cls.__qualname__}.{attr} must be a non-empty tuple of names, got {value!r}"
    problems = check_config_class(cls.Config)
    if problems:
        return f"family {name!r}: Config {getattr(cls.Config, '__name__', '?')}: " + "; ".join(
            problems
        )
    return None


def _register_models(reg: _Registry) -> None:
    hook = reg.pm.hook.ganedit_register_models
    for impl in list(hook.get_hookimpls()):
        rec = reg.records.get(impl.plugin_name)
        if rec is None:  # registered by hand through get_plugin_manager(); record it
            rec = PluginRecord(name=impl.plugin_name, dist=None, version=None, source="manual")
            reg.records[rec.name] = rec

        def register(cls: Any, _rec: PluginRecord = rec) -> None:
            problem = _validate_family(cls)
            if problem is None and cls.name in reg.families:
                owner = reg.families[cls.name][1]
                problem = (
                    f"family {cls.name!r} is already registered by plugin {owner!r}; "
                    f"{_rec.name!r} may not register it again"
                )
                if _strict():
                    raise DuplicateFamilyError(problem)
            if problem is not None:
                _rec.add_error(problem)
                _trace(f"{_rec.name}: refused: {problem}")
                if _strict():
                    raise PluginError(problem)
                return
            reg.families[cls.name] = (cls, _rec.name)
            _rec.families.append(cls.name)
            _trace(f"{_rec.name}: registered family {cls.name!r}")

        kwargs = {"register": register}
        try:
            impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
        except PluginError:
            raise
        except (Exception, SystemExit) as exc:
            _trace_exc()
            _fail(reg, rec, f"ganedit_register_models raised {_describe(exc)}", impl.plugin)


def load_registry() -> _Registry:
    """Load every plugin (see the module docstring); the registry of what they gave."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    reg = _Registry(pm=pm)
    for ep in _entry_points():
        rec = _new_record(ep)
        if rec.name in reg.records:  # same name from another distribution
            rec.add_error(
                f"plugin name {rec.name!r} is already used by {reg.records[rec.name].source}"
            )
            rec.status = "failed"
            reg.records[f"{rec.name} ({rec.source})"] = rec
            if _strict():
                raise PluginError(f"plugin {rec.name!r} ({rec.source}): {rec.error}")
            continue
        reg.records[rec.name] = rec
        reason = _skip_reason(rec)
        if reason is not None:
            rec.status = "disabled"
            _trace(f"{rec.name}: skipped ({reason})")
            continue
        _register_plugin(reg, ep, rec)
    _register_models(reg)
    return reg
