"""``ganedit run MODEL INPUT... OUTPUT``: process image folders with an image model.

Its options are generated: one per :class:`~ganedit.infer.options.RunOptions` field that
applies to the model's kind (``--mask``/``--masks`` only for IMAGE_MASK models),
``--executor`` and one per option field of every registered executor (``--workers`` for
``ray``...; :mod:`ganedit.infer.run.executors`), ``--json``, then one per field of the model's
Config. Every run option is handed to :func:`ganedit.run_folder` as it is; the options of the
chosen executor that were given go to its ``executor_options`` (another executor's option is a
usage error).

With ``--json`` standard output carries the JSON event lines and nothing else: whatever else
this process or its children write there (a library's print, Ray's raylet messages) goes to
standard error for the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json as jsonlib
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import _split_options, _user_errors, run_option_params
from ganedit.cli.model_commands import model_command, model_group
from ganedit.family import Kind, ModelFamily
from ganedit.infer.options import RunOptions, option_fields

#: Parameters of ``ganedit run`` that are not :class:`RunOptions` fields.
CLI_ONLY = ("paths", "json", "executor")


def _executors() -> dict[str, Any]:
    """Every registered executor class by name (``local`` first)."""
    from ganedit.infer.run.executors import executor_class, list_executors

    names = list_executors()
    return {n: executor_class(n) for n in ["local", *(n for n in names if n != "local")]}


def _executor_params() -> list[click.Parameter]:
    """``--executor`` and one option per field of each executor's ``Options``."""
    execs = _executors()
    lines = "; ".join(f"{n}: {c.summary}" for n, c in execs.items() if c.summary)
    params: list[click.Parameter] = [
        click.Option(
            ["--executor", "executor"],
            default="local",
            show_default=True,
            metavar="NAME",
            help=f"Where the files are processed ({lines}).",
        )
    ]
    for name, cls in execs.items():
        for opt in run_option_params(options_cls=cls.Options):
            opt.help = f"[--executor {name}] {opt.help}"
            params.append(opt)
    return params


def _executor_options(kw: dict[str, Any]) -> dict[str, Any]:
    """The given options of the chosen executor; another executor's option is refused."""
    ctx = click.get_current_context()
    chosen = str(kw["executor"]).strip().lower()
    given: dict[str, Any] = {}
    for name, cls in _executors().items():
        for f in dataclasses.fields(cls.Options):
            if ctx.get_parameter_source(f.name) in (None, click.core.ParameterSource.DEFAULT):
                continue
            if name != chosen:
                flag = "--" + f.name.replace("_", "-")
                raise click.UsageError(f"{flag} is an option of --executor {name}")
            given[f.name] = kw[f.name]
    return given


def _executor_names() -> set[str]:
    return {f.name for c in _executors().values() for f in dataclasses.fields(c.Options)}


def _run_names(cls: type[ModelFamily]) -> list[str]:
    """The :class:`RunOptions` fields that apply to ``cls``'s kind."""
    return [f.name for f in option_fields(RunOptions, kind=cls.kind)]


def _run_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    """``INPUT... OUTPUT``, every :class:`RunOptions` field that applies to ``cls`` (generated),
    ``--json``, then the family's Config fields (those not named like a run option)."""
    params: list[click.Parameter] = [
        click.Argument(
            ["paths"],
            nargs=-1,
            required=True,
            metavar="INPUT... OUTPUT",
            type=click.Path(path_type=Path),
        ),
        *run_option_params(cls.kind, options_cls=RunOptions),
        *_executor_params(),
        click.Option(
            ["--json", "json"],
            is_flag=True,
            help="Machine-readable progress on stdout: one JSON event per line.",
        ),
    ]
    return params


def _reserved() -> set[str]:
    """The names of ``ganedit run``'s own options (a Config field so named is no option)."""
    return {f.name for f in option_fields(RunOptions)} | set(CLI_ONLY) | _executor_names()


def _check_run_paths(paths: Sequence[Path]) -> tuple[list[Path], Path]:
    """Split ``INPUT... OUTPUT``. A missing input among existing ones is not a usage error: the
    runner reports it as a failed item and goes on; only a run with no existing input is."""
    if len(paths) < 2:
        raise click.UsageError("expected at least one INPUT and one OUTPUT folder")
    *inputs, output = paths
    if not any(p.exists() for p in inputs):
        raise click.UsageError(f"input not found: {', '.join(str(p) for p in inputs)}")
    return inputs, output


def _event_dict(event: Any) -> Any:
    if hasattr(event, "to_dict"):
        return event.to_dict()
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    return event


def shown(text: Any) -> str:
    """``text`` printable on any terminal: bytes of a file name that are not UTF-8 (lone
    surrogates in Python) are shown as ``\\udcXX`` escapes instead of raising."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _print_report(report: Any, as_json: bool, out: Any = None) -> None:
    if as_json:
        payload = {"event": "end", **_event_dict(report)}
        click.echo(jsonlib.dumps(payload, default=str), file=out)
        return
    done, skipped, failed = len(report.done), len(report.skipped), len(report.failed)
    redone = len(getattr(report, "redone", []))
    extra = f" ({redone} redone: input or parameters changed)" if redone else ""
    click.echo(f"done {done}, skipped {skipped}, failed {failed}{extra}")
    for path, why in report.failed:
        click.echo(shown(f"  failed: {path}: {why}"), err=True)
    for message in getattr(report, "warnings", []):
        click.echo(shown(f"warning: {message}"), err=True)
    if getattr(report, "interrupted", None):
        name = signal.Signals(report.interrupted).name
        click.echo(f"interrupted by {name}: the files above were finished; rerun with "
                   "--skip-existing to go on", err=True)  # fmt: skip
    if getattr(report, "manifest_error", None):
        click.echo(shown(f"error: the manifest could not be written: {report.manifest_error}"),
                   err=True)  # fmt: skip
    if getattr(report, "manifest_path", None):
        click.echo(shown(f"manifest: {report.manifest_path}"))


def _json_events(out: Any = None) -> tuple[Any, list[bool]]:
    """An ``on_event`` printing one JSON line per event to ``out`` (default: stdout), and a
    flag list set by "end"."""
    seen_end: list[bool] = []

    def on_event(event: Any) -> None:
        data = _event_dict(event)
        if isinstance(data, dict) and data.get("event") == "end":
            seen_end.append(True)
        click.echo(jsonlib.dumps(data, default=str), file=out)

    return on_event, seen_end


@contextlib.contextmanager
def json_stdout() -> Iterator[Any]:
    """A stream on the real standard output for the JSON lines, while file descriptor 1 and
    ``sys.stdout`` point at standard error (so a library's prints and child processes'
    output, such as Ray's raylet messages, cannot interleave with the JSON). Where stdout is
    not a file descriptor (a test's captured stream) it is yielded as it is."""
    try:
        fd, err_fd = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        yield sys.stdout
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    out = open(os.dup(saved), "w", encoding="utf-8", errors="backslashreplace", buffering=1)  # noqa: SIM115
    old = sys.stdout
    os.dup2(err_fd, fd)
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        sys.stdout = old
        out.close()
        os.dup2(saved, fd)
        os.close(saved)


def _make_run(cls: type[ModelFamily]) -> click.Command:
    """Process image folders with MODEL: ganedit run MODEL INPUT... OUTPUT.

    `ganedit run MODEL --help` lists that model's options.
    """

    def callback(**kw: Any) -> None:
        from ganedit.infer import RunInterrupted, run_folder

        inputs, output = _check_run_paths(kw["paths"])
        names = _run_names(cls)
        options = _split_options(kw, _reserved())
        run_options = {name: kw[name] for name in names}
        as_json = kw["json"]
        executor_options = _executor_options(kw)
        with json_stdout() if as_json else contextlib.nullcontext() as out:
            on_event, seen_end = _json_events(out) if as_json else (None, [])
            # run_folder's ValueErrors are usage errors; its warnings are printed once, at the
            # end (or are events with --json), not as Python warnings with a source line
            with _user_errors(value_is_usage=True), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    report = run_folder(
                        cls.name,
                        inputs,
                        output,
                        progress=not as_json,
                        on_event=on_event,
                        executor=kw["executor"],
                        executor_options=executor_options,
                        **run_options,
                        **options,
                    )
                except RunInterrupted as stop:  # finished cleanly: summary, then 130 / 143
                    report = stop.report
            if not (as_json and seen_end):  # run_folder's "end" event is the JSON summary
                _print_report(report, as_json, out)
        sys.exit(report.exit_code)

    return model_command(
        cls,
        callback,
        _run_params(cls),
        "Process every image under INPUT... (files or folders, "
        "recursively) into the OUTPUT folder, mirroring sub-folders.",
        reserved=_reserved(),
        command="run",
    )


run_cmd = model_group(
    "run",
    _make_run,
    lambda c: c.kind in (Kind.IMAGE, Kind.IMAGE_MASK),
    "`run` takes image models; use `ganedit sample` for generators",
)
