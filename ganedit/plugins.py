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

The loading steps live in :mod:`ganedit.plugin_loading`; this module holds the registry they
build and the API over it (families, commands, executors, training callbacks).

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
import threading
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from ganedit.family import ModelFamily
from ganedit.plugin_loading import (
    _NAME_RE,
    ENTRY_POINT_GROUP,
    DuplicateFamilyError,
    PluginError,
    PluginRecord,
    _describe,
    _Registry,
    _strict,
    _trace,
    _trace_exc,
    load_registry,
)

if TYPE_CHECKING:  # pragma: no cover
    import click


for _cls in (PluginError, DuplicateFamilyError, PluginRecord):
    _cls.__module__ = __name__  # documented, and shown in tracebacks, as ganedit.plugins.X

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


_LOCK = threading.RLock()
_REGISTRY: _Registry | None = None


def _registry() -> _Registry:
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None:
            _REGISTRY = load_registry()
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

    from ganedit.infer.options import RunOptions
    from ganedit.infer.run.executors import BUILTIN, Executor

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

    A refused registration (bad name, not an :class:`~ganedit.infer.run.executors.Executor`, a
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
