"""Every hook a ganedit plugin may implement, each with its contract and a complete example.

A plugin is a module (or a class instance) whose functions are decorated with
:data:`ganedit.hookimpl`. It is named in the entry-point group ``ganedit`` of its
distribution::

    # pyproject.toml of ganedit-foo
    [project.entry-points.ganedit]
    foo = "ganedit_foo"

The hooks are listed below. An implementation may take fewer arguments than its spec, but no
others.

* :func:`ganedit_register_models`: call ``register(FamilyClass)`` once per model family.
* :func:`ganedit_register_commands`: add Click commands to the ``ganedit`` group.
* :func:`ganedit_train_callbacks`: return callbacks for a training run (``on_step_end``...).
* :func:`ganedit_register_executors`: call ``register(name, ExecutorClass)`` per executor
  (where ``ganedit run --executor NAME`` processes the files).
* :func:`ganedit_register_importers`: call ``register(family_name, mapper)`` to let
  ``ganedit import SRC OUT --to FAMILY`` turn community checkpoints into that family's weights.

Loading (:mod:`ganedit.plugins`) goes one plugin at a time, and a problem fails only the
plugin that has it. The problems are: an import error; a hook implementation that asks for an
argument its spec does not have; a hook name with no spec here (a typo; the nearest name is
suggested); and a module that implements no hook at all (usually a missing
``@ganedit.hookimpl``). Every plugin leaves a record, shown by ``ganedit plugins``.
``GANEDIT_STRICT_PLUGINS=1`` raises at the first problem instead. ``GANEDIT_LOAD_PLUGINS``
and ``GANEDIT_DISABLE_PLUGINS`` choose which plugins load, and ``GANEDIT_TRACE_PLUGINS=1``
traces the loading. The family contract itself is :class:`ganedit.ModelFamily`.
docs/plugins.md has three complete plugins, which the test suite runs.

Example (a complete plugin module, ``ganedit_sharpen.py``)::

    from dataclasses import dataclass

    import ganedit
    from ganedit.config import option
    from torch import nn


    @dataclass
    class SharpenConfig:
        amount: float = option(0.5, "Unsharp-mask strength.")


    class Sharpen(ganedit.ModelFamily[SharpenConfig]):
        name = "sharpen"
        kind = ganedit.Kind.IMAGE
        Config = SharpenConfig
        summary = "Unsharp masking with a fixed 3x3 box blur (nothing to train)."

        def io(self, config):
            return ganedit.IOSpec(3, 3, tiling=ganedit.Tiling.supported(radius=1))

        def build(self, config):
            blur = nn.Conv2d(3, 3, 3, padding=1, padding_mode="replicate", groups=3, bias=False)
            nn.init.constant_(blur.weight, 1 / 9)
            return {"generator": blur.requires_grad_(False)}

        def predict(self, net, inputs, config):
            x = inputs["image"]  # (N, 3, H, W) float32 in [0, 1]
            return (x + config.amount * (x - net(x))).clamp(0, 1)


    @ganedit.hookimpl
    def ganedit_register_models(register):
        register(Sharpen)

Its only weight is fixed, so the "random" initialisation is the model:
``ganedit.load(Sharpen, weights=False)(ganedit.read_image("cat.png"))`` sharpens a photo.
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
    """Register model families: call ``register(FamilyClass)`` once per family.

    The hook is called once per plugin, when plugins are first loaded. ``register`` checks
    each class at once. It refuses a class, records why in the plugin's ``ganedit plugins``
    entry and leaves the class out, when:

    * the class is not a :class:`ganedit.ModelFamily` subclass;
    * ``name`` does not match ``[a-z0-9-]+``, or another plugin has already registered it
      (the message names both plugins; the first registration wins);
    * ``kind`` is not a :class:`ganedit.Kind`, or ``generators`` or ``data_roles`` is not a
      non-empty tuple of identifiers;
    * ``Config`` is not a dataclass, has a field without a default, or has a field type
      outside :data:`ganedit.config.SUPPORTED_FIELD_TYPES` (``int``, ``float``, ``bool``,
      ``str``, ``Literal[...]``, ``X | None``, and tuples and lists of scalars). The message
      names the field, e.g. ``family 'foo': Config FooConfig: field 'root': unsupported
      type 'Path' (supported: ...)``.

    The plugin's other families are still registered. If the hook itself raises, every family
    of that plugin is dropped and the plugin is unregistered; other plugins are unaffected.
    With ``GANEDIT_STRICT_PLUGINS=1`` a refusal raises :class:`ganedit.plugins.PluginError`
    instead (:class:`~ganedit.plugins.DuplicateFamilyError` for a taken name).

    Args:
        register: ``register(FamilyClass)``; returns nothing.

    Example (families in their own module, registered from the plugin's ``__init__.py``)::

        # ganedit_foo/__init__.py
        import ganedit
        from ganedit_foo.family import Foo, FooLarge


        @ganedit.hookimpl
        def ganedit_register_models(register):
            register(Foo)
            register(FooLarge)  # if refused (say, a Path field in its Config), Foo stays
    """


@hookspec
def ganedit_register_commands(cli: click.Group) -> None:
    """Add Click commands to the ``ganedit`` command group.

    Commands are collected only when the CLI needs them (``ganedit --help``, or a command
    name that is not built in), each plugin into a staging group of its own. A command is
    refused and recorded as this plugin's error when its name is taken by a built-in command
    (``run``, ``train``, ``eval``, ``sample``, ``export``, ``plugins``, ``models``, ``plot``)
    or by a command another plugin already added. A hook that raises adds no commands and is
    recorded. ``ganedit --help`` and the built-in commands keep working whatever a plugin
    does, and ``ganedit plugins`` lists the commands each plugin added.

    Args:
        cli: the group to add commands to (``@cli.command(...)`` or ``cli.add_command``).

    Example (a command that loads the plugin's family through the public API)::

        import click
        import ganedit


        @ganedit.hookimpl
        def ganedit_register_commands(cli):
            @cli.command(name="foo-info")
            @click.option("--weights", default=None, help="Weights file [default: bundled].")
            def foo_info(weights):
                "Print what the foo model runs on, its scale and its tiling."
                editor = ganedit.load("foo", weights=weights)
                click.echo(f"{editor!r}; tiling: {editor.io.tiling.describe()}")
    """


@hookspec
def ganedit_train_callbacks(family: ModelFamily, config: Any) -> list[Any] | None:
    """Return callback objects for a training run of ``family`` with ``config``.

    :func:`ganedit.train` and ``ganedit train`` call this hook once per run, on every loaded
    plugin. :func:`ganedit.engine.fit` does not call it; it takes callbacks only through its
    ``callbacks=`` argument. Return ``[]`` (or ``None``) for runs of other families.

    A callback is any object with some of the methods below. Each method is passed only the
    keyword arguments its signature names (all of them if it takes ``**kwargs``):

    * ``on_fit_start(engine, family, config, out_dir, step)``: ``step`` is the first step,
      which is not 0 on resume;
    * ``on_step_end(engine, family, config, out_dir, step, metrics)``: after every step.
      ``metrics`` holds the losses on logged steps (every ``log_every`` steps) and is empty
      on the others;
    * ``on_log(engine, step, metrics)``: for each row written to ``metrics.jsonl``;
    * ``on_checkpoint(engine, family, config, out_dir, step, path)``: after each checkpoint;
    * ``on_fit_end(engine, family, config, out_dir, step, metrics, path)``: ``path`` is the
      exported weights file.

    Setting ``engine.should_stop = True`` ends training after the current step and saves a
    checkpoint. The run then counts as interrupted: ``ganedit train`` exits with 1, and
    ``--resume`` continues it.

    Callbacks are isolated plugin by plugin. If a plugin's hook raises, or returns something
    other than a list, that plugin adds no callbacks. The run goes on, a ``RuntimeWarning``
    names the plugin, and the error is added to its record. A callback method that raises is
    switched off for the rest of the run, with the same warning and record.
    ``GANEDIT_STRICT_PLUGINS=1`` raises :class:`ganedit.plugins.PluginError` instead.

    Args:
        family: the family being trained (a :class:`ganedit.ModelFamily` instance).
        config: its resolved Config instance.

    Returns:
        A list of callbacks, or ``None``.

    Example (stop a run of ``foo`` once its L1 loss is low)::

        import ganedit


        class StopWhenGood:
            def __init__(self, threshold):
                self.threshold = threshold

            def on_step_end(self, engine, step, metrics):
                if metrics.get("l1", float("inf")) < self.threshold:
                    print(f"step {step}: l1 {metrics['l1']:.4f} < {self.threshold}, stopping")
                    engine.should_stop = True


        @ganedit.hookimpl
        def ganedit_train_callbacks(family, config):
            return [StopWhenGood(0.01)] if family.name == "foo" else []
    """


@hookspec
def ganedit_register_executors(register: Callable[[str, type], None]) -> None:
    """Register executors: call ``register(name, ExecutorClass)`` once per executor.

    An executor decides where the files of a folder run are processed:
    ``ganedit run MODEL IN OUT --executor NAME`` and ``ganedit.run_folder(...,
    executor=NAME, executor_options={...})``. The class subclasses
    :class:`ganedit.infer.Executor`; its ``run(order, sink)`` gets a
    :class:`ganedit.infer.WorkOrder` (the files to process, each with its index, and how to
    load the model) and reports every file's record with ``sink.record(index, record)`` in
    the calling (driver's) thread; its workers produce the records with
    :func:`ganedit.infer.process_items`. The driver keeps the lock, the walk, skipping, the
    manifest (one record per input, a repeat dropped), events and exit codes, whatever the
    executor. Its options are a dataclass (``Options``, a subclass of
    :class:`ganedit.infer.ExecutorOptions`) declared like :class:`ganedit.RunOptions`
    fields; ``ganedit run`` shows one option per field.

    ``register`` refuses, and records as this plugin's error: a name not matching
    ``[a-z0-9-]+``, ``local`` (built in) or a name another plugin took, a class that is not an
    ``Executor``, and an option name that a run option or another executor already uses.
    ``check_available()`` runs before a run starts: raise
    :class:`ganedit.infer.ExecutorUnavailable` naming the package to install (a usage error,
    exit 2). Import heavy dependencies there or in ``run``, never at module import.

    Args:
        register: ``register(name, ExecutorClass)``; returns nothing.

    Example (an executor that processes the files in reverse order, in this process)::

        from dataclasses import dataclass

        import ganedit
        from ganedit.config import option
        from ganedit.infer import Executor, ExecutorOptions, process_items


        @dataclass
        class BackwardsOptions(ExecutorOptions):
            chunk: int = option(8, "Files per call.", min=1)


        class Backwards(Executor):
            name = "backwards"
            summary = "Last file first."
            Options = BackwardsOptions

            def run(self, order, sink):
                work = order.work[::-1]
                for start in range(0, len(work), self.options.chunk):
                    if sink.halted():
                        return
                    chunk = work[start : start + self.options.chunk]
                    records = process_items(
                        order.editor,
                        [item for _, item in chunk],
                        order.options,
                        output=order.output,
                        all_items=order.items,
                    )
                    for (index, _), record in zip(chunk, records):
                        sink.record(index, record)


        @ganedit.hookimpl
        def ganedit_register_executors(register):
            register("backwards", Backwards)
    """


@hookspec
def ganedit_register_importers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register checkpoint importers: call ``register(family_name, mapper)`` per family.

    ``ganedit import SOURCE... OUT.safetensors --to FAMILY`` (and
    :func:`ganedit.importing.import_checkpoint`) reads each SOURCE with the restricted reader
    of :mod:`ganedit.importing` (never ``torch.load``: a pickle's code never runs), then calls
    ``mapper(sources, settings)``:

    * ``sources``: a list of :class:`ganedit.importing.SourceState`, one per file, in the
      order given; ``.tensors`` is the state dict (name -> CPU tensor, the nesting under
      ``params_ema`` / ``params`` / ``state_dict`` / ``model`` and a ``module.`` prefix
      already removed, NaN/Inf already refused);
    * ``settings``: the ``--set key=value`` strings (``dict[str, str]``).

    It returns a :class:`ganedit.importing.Mapped`: ``generators`` (generator name -> the
    family's state dict), ``config`` (a dict of Config fields read from the tensors' shapes),
    ``layout`` (a short description recorded in the card), optionally ``family`` (the family
    that runs it, when not FAMILY), ``non_commercial`` and ``card`` (extra card fields). It
    raises :class:`ganedit.importing.ImportRefused` for a checkpoint it does not recognise,
    saying what it expected. The importer then applies ``settings`` to the config, builds
    every generator and loads the mapped tensors strictly, so a mapper cannot write a file
    that will not load. A second registration of a family name is refused and recorded as
    the second plugin's error; a hook that raises registers nothing of that plugin.

    Args:
        register: ``register(family_name, mapper)``; returns nothing.

    Example (a family whose generator is the community's ``netG`` with another prefix)::

        import ganedit
        from ganedit.importing import ImportRefused, Mapped


        def import_foo(sources, settings):
            state = sources[0].tensors
            if "body.0.weight" not in state:
                raise ImportRefused(f"{sources[0].path}: not a foo checkpoint (no body.0.weight)")
            width = int(state["body.0.weight"].shape[0])
            return Mapped(
                generators={"generator": {f"net.{k}": v for k, v in state.items()}},
                config={"width": width},
                layout=f"foo, width {width}",
            )


        @ganedit.hookimpl
        def ganedit_register_importers(register):
            register("foo", import_foo)
    """
