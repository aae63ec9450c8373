"""Every hook a ganedit plugin may implement.

A plugin is a module (or class instance) with functions decorated by :data:`ganedit.hookimpl`,
named in the entry-point group ``ganedit`` of its distribution::

    # pyproject.toml of ganedit-foo
    [project.entry-points.ganedit]
    foo = "ganedit_foo"

Each hook's docstring is its contract and a complete example. A hook implementation whose name
has no spec here is refused when the plugin loads (it is almost always a typo).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from ganedit.family import ModelFamily

PROJECT = "ganedit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]


@hookspec
def ganedit_register_models(register: Callable[[type[ModelFamily]], None]) -> None:
    """Register model families by calling ``register(FamilyClass)`` once per family.

    A family whose ``name`` is already taken is refused at once, naming both plugins; the
    plugin's other families are still registered.

    Example::

        import ganedit
        from ganedit_foo.family import Foo

        @ganedit.hookimpl
        def ganedit_register_models(register):
            register(Foo)
    """


@hookspec
def ganedit_register_commands(cli: click.Group) -> None:
    """Add Click commands to the ``ganedit`` command group.

    A command whose name is already taken (a built-in such as ``run``, or another plugin's) is
    refused and reported as that plugin's error; ``ganedit --help`` keeps working either way.

    Example::

        import click
        import ganedit

        @ganedit.hookimpl
        def ganedit_register_commands(cli):
            @cli.command(name="foo-info")
            def foo_info():
                "Print what foo knows."
                click.echo("foo")
    """


@hookspec
def ganedit_train_callbacks(family: ModelFamily, config: Any) -> list[Any] | None:
    """Return callback objects for a training run of ``family`` with ``config``.

    A callback has any of the methods ``on_fit_start``, ``on_step_end``, ``on_checkpoint``,
    ``on_fit_end``; the engine passes each only the keyword arguments it names among
    ``engine``, ``family``, ``config``, ``step``, ``metrics``, ``path``, ``out_dir``.

    Example (stop once the generator loss is low)::

        import ganedit

        class StopWhenGood:
            def on_step_end(self, engine, metrics):
                if metrics.get("g", 1e9) < 0.01:
                    engine.should_stop = True

        @ganedit.hookimpl
        def ganedit_train_callbacks(family, config):
            return [StopWhenGood()] if family.name == "foo" else []
    """
