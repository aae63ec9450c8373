"""Plugin loading: built-in and third-party plugins alike, through entry points ``ganedit``.

Every plugin is a module named in the ``ganedit`` entry-point group of its distribution. The
built-in ones ship inside the ``ganedit`` distribution itself; third parties ship their own::

    # pyproject.toml of ganedit-foo
    [project.entry-points.ganedit]
    foo = "ganedit_foo"

Loading happens once, on first use, one plugin at a time, and each step is isolated:

1. import the module (an import error fails that plugin only);
2. register it with pluggy (a hook implementation with a wrong argument name is refused);
3. check that every hook implementation has a spec (a misspelled hook name is refused and
   attributed to that plugin);
4. call ``ganedit_register_models`` implementation by implementation, so a plugin that raises
   cannot erase the others' families. A family name that is already taken is refused, naming
   both plugins, and so is a family whose Config has a field of an unsupported type (named
   with the plugin and the field, instead of a late ``TypeError`` in the CLI).

A plugin module that implements no hook at all is reported too (it is almost always a missing
``@ganedit.hookimpl``). Training callbacks (``ganedit_train_callbacks``) are collected plugin
by plugin by :func:`train_callbacks`: a plugin whose hook raises, or whose callback raises
during training, is reported and left out, and training goes on.

A failed plugin is unregistered and leaves a :class:`PluginRecord` with its ``error``;
``ganedit plugins`` shows every record. Environment switches (read at load time):

* ``GANEDIT_LOAD_PLUGINS``: comma-separated allow-list of third-party plugins (entry-point or
  distribution names). Set but empty: built-ins only (the rescue mode when a plugin breaks
  everything). Built-in plugins always load unless disabled.
* ``GANEDIT_DISABLE_PLUGINS``: comma-separated plugins never to load (built-ins included).
* ``GANEDIT_STRICT_PLUGINS=1``: raise :class:`PluginError` at the first failure instead of
  isolating it (for plugin authors and CI).
* ``GANEDIT_TRACE_PLUGINS=1``: print each load step, and full tracebacks, to stderr.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata as md
import os
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Iterable
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
    "ENTRY_POINT_GROUP",
    "DuplicateFamilyError",
    "PluginError",
    "PluginRecord",
    "UnknownModelError",
    "executor_classes",
    "family_class",
    "get_family",
    "get_plugin_manager",
    "list_families",
    "list_models",
    "plugin_commands",
    "plugin_records",
    "reset_plugins",
    "train_callbacks",
]

ENTRY_POINT_GROUP = "ganedit"
BUILTIN_DIST = "ganedit"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PluginError(RuntimeError):
    """A plugin failed to load (raised only with ``GANEDIT_STRICT_PLUGINS=1``)."""


class DuplicateFamilyError(PluginError):
    """Two plugins registered a family under the same name."""


class UnknownModelError(KeyError):
    """No installed plugin provides the asked-for model family.

    ``str(err)`` lists the known names and, as a hint, the plugins that failed to load.
    """

    def __init__(self, name: str, known: Iterable[str], failed: Iterable[PluginRecord] = ()):
        self.name = name
        self.known = sorted(known)
        self.failed = list(failed)
        msg = f"unknown model {name!r}; known models: {', '.join(self.known) or '(none)'}"
        close = difflib.get_close_matches(name, self.known, n=1)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
        if self.failed:
            msg += "; plugins that failed to load: " + "; ".join(
                f"{r.name}: {r.error}" for r in self.failed
            )
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:
        return self.message


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


_LOCK = threading.RLock()
_REGISTRY: _Registry | None = None


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


def _load() -> _Registry:
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


def _registry() -> _Registry:
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None:
            _REGISTRY = _load()
        return _REGISTRY


# -------------------------------------------------------------------------------------- API
def get_plugin_manager() -> pluggy.PluginManager:
    """The loaded pluggy manager (loads plugins on first call).

    Use ``get_plugin_manager().hook.ganedit_train_callbacks(...)`` to call a hook on every
    loaded plugin.
    """
    return _registry().pm


def plugin_records() -> list[PluginRecord]:
    """One :class:`PluginRecord` per plugin found, loaded or not, built-ins first."""
    return list(_registry().records.values())


def list_models() -> list[str]:
    """The names of every registered model family, sorted."""
    return sorted(_registry().families)


def list_families() -> list[type[ModelFamily]]:
    """Every registered family class, sorted by name."""
    reg = _registry()
    return [reg.families[n][0] for n in sorted(reg.families)]


def family_class(name: str) -> type[ModelFamily]:
    """The registered family class called ``name``; raises :class:`UnknownModelError`."""
    reg = _registry()
    entry = reg.families.get(name) or reg.families.get(name.strip().lower())
    if entry is None:
        failed = [r for r in reg.records.values() if r.status == "failed"]
        raise UnknownModelError(name, reg.families, failed)
    return entry[0]


def family_plugin(name: str) -> PluginRecord:
    """The record of the plugin that registered family ``name``."""
    reg = _registry()
    family_class(name)
    return reg.records[reg.families[name.strip().lower()][1]]


def get_family(name: str) -> ModelFamily:
    """An instance of the family called ``name`` (families are stateless; one is shared).

    Raises:
        UnknownModelError: no plugin registered ``name``; the message lists the known names and
            the plugins that failed to load.
    """
    cls = family_class(name)
    reg = _registry()
    with _LOCK:
        inst = reg.instances.get(cls.name)
        if inst is None:
            inst = reg.instances[cls.name] = cls()
    return inst


def plugin_commands(reserved: Iterable[str]) -> dict[str, click.Command]:
    """Commands added by ``ganedit_register_commands``, implementation by implementation.

    Each plugin adds its commands to a private staging group; a command whose name is in
    ``reserved`` (the built-in commands) or was already added by another plugin is refused and
    recorded as that plugin's error. A plugin whose hook raises adds nothing. The result is
    computed once per load.
    """
    import click

    reg = _registry()
    with _LOCK:
        if reg.commands is not None:
            return reg.commands
        reserved = set(reserved)
        commands: dict[str, click.Command] = {}
        owners: dict[str, str] = {}
        hook = reg.pm.hook.ganedit_register_commands
        for impl in list(hook.get_hookimpls()):
            rec = reg.records.get(impl.plugin_name)
            if rec is None:
                rec = PluginRecord(name=impl.plugin_name, dist=None, version=None, source="manual")
                reg.records[rec.name] = rec
            staging = click.Group(name="ganedit")
            try:
                impl.function(**{k: staging for k in impl.argnames if k == "cli"})
            except (Exception, SystemExit) as exc:
                _trace_exc()
                message = f"ganedit_register_commands raised {_describe(exc)}"
                rec.add_error(message)
                _trace(f"{rec.name}: {message}")
                if _strict():
                    reg.commands = commands
                    raise PluginError(f"plugin {rec.name!r} ({rec.source}): {message}") from exc
                continue
            for name, cmd in staging.commands.items():
                if name in reserved:
                    problem = f"command {name!r} shadows a built-in command and was refused"
                elif name in commands:
                    problem = (
                        f"command {name!r} is already added by plugin {owners[name]!r} "
                        "and was refused"
                    )
                else:
                    commands[name] = cmd
                    owners[name] = rec.name
                    rec.commands.append(name)
                    _trace(f"{rec.name}: added command {name!r}")
                    continue
                rec.add_error(problem)
                _trace(f"{rec.name}: {problem}")
                if _strict():
                    reg.commands = commands
                    raise PluginError(f"plugin {rec.name!r} ({rec.source}): {problem}")
        reg.commands = commands
        return commands


class _IsolatedCallback:
    """A plugin's training callback whose ``on_*`` methods cannot end a training run: the
    first exception is reported (a warning naming the plugin, and the plugin's record) and
    the callback is switched off."""

    def __init__(self, callback: Any, record: PluginRecord) -> None:
        self._callback = callback
        self._record = record
        self._off = False

    def __getattr__(self, hook: str) -> Any:
        fn = getattr(self._callback, hook)
        if not hook.startswith("on_") or not callable(fn):
            return fn

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self._off:
                return None
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a plugin must not end the run
                self._off = True
                message = f"training callback {hook} raised {_describe(exc)}; switched off"
                self._record.add_error(message)
                _trace_exc()
                warnings.warn(f"plugin {self._record.name!r}: {message}", RuntimeWarning, 2)
                if _strict():
                    raise PluginError(f"plugin {self._record.name!r}: {message}") from exc
                return None

        return guarded


def _executor_problem(
    cls: Any, name: Any, taken: dict[str, Any], owners: dict[str, str]
) -> str | None:
    """Why ``register(name, cls)`` is refused, or ``None``."""
    import dataclasses

    from ganedit.infer.executors import BUILTIN, Executor
    from ganedit.infer.options import RunOptions

    if not isinstance(name, str) or not _NAME_RE.match(name):
        return f"executor name {name!r} must match [a-z0-9-]+"
    if not isinstance(cls, type) or not issubclass(cls, Executor):
        return f"register() expects an Executor subclass, got {cls!r}"
    if name in BUILTIN:
        return f"executor {name!r} is built in and cannot be replaced"
    if name in taken:
        return f"executor {name!r} is already registered by plugin {owners[name]!r}"
    if not dataclasses.is_dataclass(cls.Options):
        return f"executor {name!r}: Options must be a dataclass"
    used = {f.name: "a run option" for f in dataclasses.fields(RunOptions)}
    for other, ocls in taken.items():
        used.update({f.name: f"executor {other!r}" for f in dataclasses.fields(ocls.Options)})
    clash = [
        f"{f.name} ({used[f.name]})" for f in dataclasses.fields(cls.Options) if f.name in used
    ]
    if clash:
        return f"executor {name!r}: option names already taken: {', '.join(clash)}"
    return None


def executor_classes() -> dict[str, type]:
    """Executors added by ``ganedit_register_executors`` (name -> class), plugin by plugin.

    A refused registration (bad name, not an :class:`~ganedit.infer.executors.Executor`, a
    taken name, an option name already used by a run option or another executor) or a hook
    that raises is recorded as that plugin's error; ``GANEDIT_STRICT_PLUGINS=1`` raises. The
    result is computed once per load; importing an executor's heavy dependency is left to
    the executor's ``run``.
    """
    reg = _registry()
    with _LOCK:
        if reg.executors is not None:
            return reg.executors
        found: dict[str, type] = {}
        owners: dict[str, str] = {}
        for impl in list(reg.pm.hook.ganedit_register_executors.get_hookimpls()):
            rec = reg.records.get(impl.plugin_name)
            if rec is None:  # registered by hand through get_plugin_manager(); record it
                rec = PluginRecord(name=impl.plugin_name, dist=None, version=None, source="manual")
                reg.records[rec.name] = rec

            def register(name: Any, cls: Any, _rec: PluginRecord = rec) -> None:
                problem = _executor_problem(cls, name, found, owners)
                if problem is not None:
                    _rec.add_error(problem)
                    _trace(f"{_rec.name}: refused: {problem}")
                    if _strict():
                        raise PluginError(f"plugin {_rec.name!r}: {problem}")
                    return
                found[name] = cls
                owners[name] = _rec.name
                _trace(f"{_rec.name}: registered executor {name!r}")

            try:
                impl.function(**{k: register for k in impl.argnames if k == "register"})
            except PluginError:
                reg.executors = found
                raise
            except (Exception, SystemExit) as exc:
                _trace_exc()
                rec.add_error(f"ganedit_register_executors raised {_describe(exc)}")
                for name in [n for n, o in owners.items() if o == rec.name]:
                    del found[name], owners[name]
                if _strict():
                    reg.executors = found
                    raise PluginError(f"plugin {rec.name!r} ({rec.source}): {rec.error}") from exc
        reg.executors = found
        return found


def train_callbacks(family: ModelFamily, config: Any) -> list[Any]:
    """Every plugin's ``ganedit_train_callbacks(family, config)`` result, plugin by plugin.

    A plugin whose hook raises or returns something other than a list of callbacks adds
    nothing and gets the error in its record; each callback is isolated (see
    :class:`_IsolatedCallback`). ``GANEDIT_STRICT_PLUGINS=1`` raises instead.
    """
    reg = _registry()
    out: list[Any] = []
    for impl in list(reg.pm.hook.ganedit_train_callbacks.get_hookimpls()):
        rec = reg.records.get(impl.plugin_name) or PluginRecord(
            name=impl.plugin_name, dist=None, version=None, source="manual"
        )
        kwargs = {"family": family, "config": config}
        try:
            result = impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
            if result is not None and not isinstance(result, (list, tuple)):
                raise TypeError(f"returned {type(result).__name__}, expected a list")
        except (Exception, SystemExit) as exc:
            _trace_exc()
            message = f"ganedit_train_callbacks raised {_describe(exc)}"
            rec.add_error(message)
            warnings.warn(f"plugin {rec.name!r}: {message}", RuntimeWarning, 2)
            if _strict():
                raise PluginError(f"plugin {rec.name!r} ({rec.source}): {message}") from exc
            continue
        out.extend(_IsolatedCallback(cb, rec) for cb in result or [])
    return out


def reset_plugins() -> None:
    """Forget everything loaded; the next call loads again (tests, after changing sys.path or
    the ``GANEDIT_*`` switches)."""
    global _REGISTRY
    with _LOCK:
        _REGISTRY = None
    importlib.invalidate_caches()  # importlib.metadata caches the sys.path scan
