"""``ganedit run MODEL INPUT... OUTPUT``: process image folders with an image model.

Its options are generated: one per :class:`~ganedit.infer.options.RunOptions` field that
applies to the model's kind (``--mask``/``--masks`` only for IMAGE_MASK models), ``--json``,
then one per field of the model's Config. Every run option is handed to
:func:`ganedit.run_folder` as it is.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import (
    ModelGroup,
    _config_options,
    _split_options,
    _user_errors,
    model_command,
    run_option_params,
)
from ganedit.family import Kind, ModelFamily
from ganedit.infer.options import RunOptions, option_fields

#: Parameters of ``ganedit run`` that are not :class:`RunOptions` fields.
CLI_ONLY = ("paths", "json")


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
        click.Option(
            ["--json", "json"],
            is_flag=True,
            help="Machine-readable progress on stdout: one JSON event per line.",
        ),
    ]
    reserved = {f.name for f in option_fields(RunOptions)} | set(CLI_ONLY)
    params += _config_options(cls, train=False, reserved=reserved)
    return params


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


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        payload = {"event": "end", **_event_dict(report)}
        click.echo(jsonlib.dumps(payload, default=str))
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


def _json_events() -> tuple[Any, list[bool]]:
    """An ``on_event`` printing one JSON line per event, and a flag list set by "end"."""
    seen_end: list[bool] = []

    def on_event(event: Any) -> None:
        data = _event_dict(event)
        if isinstance(data, dict) and data.get("event") == "end":
            seen_end.append(True)
        click.echo(jsonlib.dumps(data, default=str))

    return on_event, seen_end


def _make_run(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        from ganedit.infer import RunInterrupted, run_folder

        inputs, output = _check_run_paths(kw["paths"])
        names = _run_names(cls)
        reserved = {f.name for f in option_fields(RunOptions)} | set(CLI_ONLY)
        options = _split_options(kw, reserved)
        run_options = {name: kw[name] for name in names}
        as_json = kw["json"]
        on_event, seen_end = _json_events() if as_json else (None, [])
        # run_folder's ValueErrors are usage errors; its warnings are printed once, at the end
        # (or are events with --json), not as Python warnings with a source line
        with _user_errors(value_is_usage=True), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                report = run_folder(
                    cls.name,
                    inputs,
                    output,
                    progress=not as_json,
                    on_event=on_event,
                    **run_options,
                    **options,
                )
            except RunInterrupted as stop:  # finished cleanly: summary, then 130 / 143
                report = stop.report
        if not (as_json and seen_end):  # run_folder's "end" event is the JSON summary
            _print_report(report, as_json)
        sys.exit(report.exit_code)

    return model_command(
        cls,
        callback,
        _run_params(cls),
        "Process every image under INPUT... (files or folders, "
        "recursively) into the OUTPUT folder, mirroring sub-folders.",
    )


@click.command(
    "run",
    cls=ModelGroup,
    factory=_make_run,
    accepts=lambda c: c.kind in (Kind.IMAGE, Kind.IMAGE_MASK),
    need="`run` takes image models; use `ganedit sample` for generators",
)
def run_cmd() -> None:
    """Process image folders with MODEL: ganedit run MODEL INPUT... OUTPUT.

    `ganedit run MODEL --help` lists that model's options.
    """
