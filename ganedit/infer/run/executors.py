"""Executors: where the files of a folder run are processed.

The driver (:func:`ganedit.run_folder`) alone holds the output folder's lock, walks the
inputs, checks their identity, decides what ``skip_existing`` skips, and keeps the manifest
(:class:`~ganedit.infer.run.records.RecordBook`). It hands a :class:`WorkOrder` (the files to
process, with their index) to an :class:`Executor`, whose :meth:`Executor.run` gets them
processed somewhere by :func:`~ganedit.infer.run.process.process_items` and hands every record
back to the driver's sink, with its index, in the driver's process:

* ``local`` (:class:`LocalExecutor`, the default): the pipeline in this process;
* under ``torchrun`` each rank is a driver of its share with the local executor;
* plugins add more through the ``ganedit_register_executors`` hook, e.g. ``ray`` (Ray Data
  actors, the ``ganedit[ray]`` extra).

An executor declares its options as a dataclass (a subclass of :class:`ExecutorOptions`),
with the same field metadata as :class:`~ganedit.infer.options.RunOptions` (``help``,
``min``, ``choices``, ``check``...): ``ganedit run`` generates a command-line option per
field, and the values are validated the same way. Option names are shared by every executor
on one command line, so they must not repeat a run option's or another executor's name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ganedit.infer.options import RunOptions, validate_option

if TYPE_CHECKING:  # pragma: no cover - kept light: the command line imports this module
    from ganedit.family import ModelFamily
    from ganedit.infer.editor import Editor
    from ganedit.io import InputItem

__all__ = [
    "Executor",
    "ExecutorOptions",
    "ExecutorSink",
    "ExecutorUnavailable",
    "LoadSpec",
    "LocalExecutor",
    "WorkOrder",
    "executor_class",
    "list_executors",
    "make_executor",
]


class ExecutorUnavailable(ValueError):
    """An executor cannot be used here (unknown, or a package it needs is missing): a usage
    error (``ganedit run`` exits 2); the message says what to install."""


@dataclass
class ExecutorOptions:
    """The options of an executor: subclass it and declare fields like
    :class:`~ganedit.infer.options.RunOptions` fields (``metadata={"help": ..., "min": ...}``).
    Values are validated when the instance is made (``ValueError`` naming the option)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            setattr(self, f.name, validate_option(f.name, value, type(self)))  # type: ignore[arg-type]

    def parameters(self) -> dict[str, Any]:
        """The options as JSON-safe values (for the manifest)."""
        return {
            f.name: os.fspath(v) if isinstance(v := getattr(self, f.name), os.PathLike) else v
            for f in dataclasses.fields(self)
        }


@dataclass
class LoadSpec:
    """How a worker loads the run's editor itself (:func:`ganedit.load`'s arguments).

    Attributes:
        model: a registered family's name, or a family class or instance.
        weights: the weights file, ``None`` (bundled) or ``False`` (random initialisation).
        device: the device option (``auto``: a worker takes the device it was given).
        precision: the precision option.
        options: the editor's runtime options that were given (tile, batch_size...).
        config: Config field values.
    """

    model: str | type[ModelFamily] | ModelFamily
    weights: str | os.PathLike[str] | bool | None = None
    device: str = "auto"
    precision: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def load(self, device: str | None = None) -> Editor:
        """The editor, on ``device`` when given (else :attr:`device`)."""
        from ganedit.infer.loading import load

        return load(
            self.model,
            weights=self.weights,
            device=device or self.device,
            precision=self.precision,
            **self.options,
            **self.config,
        )


@dataclass
class WorkOrder:
    """What the driver asks an executor to process.

    Attributes:
        editor: the driver's loaded editor (the local executor uses it; remote workers load
            their own from :attr:`load`).
        load: how a worker loads the same editor.
        options: the run's options.
        output: the output folder.
        items: every input of the run (outputs never overwrite one of them).
        work: ``(index, item)`` for each file to process; ``index`` is the item's position
            in :attr:`items` and goes back with its record.
        protect: more files never to be replaced (mask files).
    """

    editor: Editor
    load: LoadSpec
    options: RunOptions
    output: Path
    items: list[InputItem]
    work: list[tuple[int, InputItem]]
    protect: list[Path] = field(default_factory=list)


class ExecutorSink(Protocol):
    """The driver's side an executor reports to (:class:`~ganedit.infer.run.records.RecordBook`)."""

    def record(self, index: int | None, rec: dict[str, Any]) -> None:
        """The final record of the work item ``index`` (a repeat is dropped)."""

    def warn(self, message: str) -> None:
        """A run warning (once per distinct message)."""

    def choose(self, parameters: dict[str, Any]) -> None:
        """Choices a worker made (``compile``, ``threads``), for the manifest."""

    def halted(self) -> bool:
        """True when no new file should be started (a signal, or ``fail_fast``)."""

    def has(self, index: int) -> bool:
        """True when work item ``index`` has its record."""


class Executor:
    """Processes a :class:`WorkOrder` somewhere and reports every record to the driver.

    Subclasses set :attr:`name`, :attr:`summary`, :attr:`Options` and implement
    :meth:`run`; :meth:`check_available` refuses early when a dependency is missing.

    Args:
        options: an instance of :attr:`Options` (default: its defaults).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Options: ClassVar[type[ExecutorOptions]] = ExecutorOptions

    def __init__(self, options: ExecutorOptions | None = None) -> None:
        self.options = options if options is not None else self.Options()

    @classmethod
    def check_available(cls) -> None:
        """Raise :class:`ExecutorUnavailable` (naming what to install) when this executor
        cannot run here. Called before the run starts, so it must be cheap."""

    def parameters(self) -> dict[str, Any]:
        """The executor and its options, for the manifest's ``parameters.executor``."""
        return {"name": self.name, **self.options.parameters()}

    def run(self, order: WorkOrder, sink: ExecutorSink) -> None:
        """Process ``order.work``; report each file's record with ``sink.record(index, rec)``
        in this (the driver's) thread, stop starting files once ``sink.halted()``. A file
        must never raise: its problem is a failed record."""
        raise NotImplementedError


class LocalExecutor(Executor):
    """The pipeline in this process: decode and encode threads around the model."""

    name = "local"
    summary = "this process, decode/encode threads around the model (the default)"

    def run(self, order: WorkOrder, sink: ExecutorSink) -> None:
        from ganedit.infer.run.process import ItemProcessor

        processor = ItemProcessor(
            order.editor, order.options, order.output, all_items=order.items, protect=order.protect
        )
        indices = [i for i, _ in order.work]
        processor.process(
            [it for _, it in order.work],
            on_record=lambda pos, rec: sink.record(indices[pos], rec),
            on_warning=sink.warn,
            on_choice=sink.choose,
            stop=sink.halted,
        )


#: Executors of the core; plugins add theirs (``ganedit_register_executors``).
BUILTIN: dict[str, type[Executor]] = {"local": LocalExecutor}


def _registered() -> dict[str, type[Executor]]:
    from ganedit.plugins import executor_classes

    return {**executor_classes(), **BUILTIN}


def list_executors() -> list[str]:
    """The names of every executor (built-in and from plugins), sorted."""
    return sorted(_registered())


def executor_class(name: str) -> type[Executor]:
    """The executor registered as ``name``.

    Raises:
        ExecutorUnavailable: no such executor (the message lists the known ones).
    """
    known = _registered()
    cls = known.get(str(name).strip().lower())
    if cls is None:
        raise ExecutorUnavailable(
            f"unknown executor {name!r}; known executors: {', '.join(sorted(known))}"
        )
    return cls


def make_executor(executor: str | Executor, options: Mapping[str, Any] | None = None) -> Executor:
    """An executor ready to run: ``executor`` itself when it is one, else the registered one
    of that name with ``options`` (its :attr:`Executor.Options` fields), after
    :meth:`Executor.check_available`.

    Raises:
        ExecutorUnavailable: unknown executor, or a dependency is missing.
        ValueError: an option it does not have, or a bad value (the message names it).
    """
    if isinstance(executor, Executor):
        if options:
            raise ValueError("executor_options are for an executor given by name")
        type(executor).check_available()
        return executor
    cls = executor_class(executor)
    own = {f.name for f in dataclasses.fields(cls.Options)}
    wrong = sorted(set(options or {}) - own)
    if wrong:
        raise ValueError(
            f"{', '.join(wrong)}: not an option of the {cls.name} executor"
            + (f" (its options: {', '.join(sorted(own))})" if own else " (it has none)")
        )
    cls.check_available()
    return cls(cls.Options(**dict(options or {})))
