"""``ganedit run MODEL INPUT... OUTPUT``: process image folders with an image model."""

from __future__ import annotations

import dataclasses
import json as jsonlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import (
    FORMAT_CHOICES,
    TILE,
    ModelGroup,
    _config_options,
    _split_options,
    _user_errors,
    device_options,
    model_command,
    self_ensemble_option,
)
from ganedit.family import Kind, ModelFamily

RUN_COMMON = {
    "paths",
    "weights",
    "device",
    "precision",
    "batch_size",
    "tile",
    "tile_overlap",
    "outscale",
    "self_ensemble",
    "skip_existing",
    "fail_fast",
    "jobs",
    "dry_run",
    "json",
    "quality",
    "mask",
    "masks",
    "format",
}


def _run_params(cls: type[ModelFamily]) -> list[click.Parameter]:
    params: list[click.Parameter] = [
        click.Argument(
            ["paths"],
            nargs=-1,
            required=True,
            metavar="INPUT... OUTPUT",
            type=click.Path(path_type=Path),
        ),
        click.Option(
            ["--weights"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Weights file (.safetensors with its .json card); default: the "
            "model's bundled weights.",
        ),
        *device_options(),
        click.Option(
            ["--batch-size", "batch_size"],
            type=click.IntRange(min=1),
            default=None,
            help="Images per forward pass [default: chosen from the image size].",
        ),
        click.Option(
            ["--tile"],
            type=TILE,
            default="auto",
            show_default=True,
            help="Tile size in input pixels for large images: an integer, 0 = never "
            "tile, or auto (tile only when the image does not fit).",
        ),
        click.Option(
            ["--tile-overlap", "tile_overlap"],
            type=click.IntRange(min=0),
            default=32,
            show_default=True,
            help="Overlap between tiles, blended smoothly.",
        ),
        click.Option(
            ["--outscale"],
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="Final size relative to the input, e.g. 3.5 with an x4 model: the output is "
            "resized (antialiased bicubic) after the model [default: the model's scale].",
        ),
        self_ensemble_option(),
        click.Option(
            ["--skip-existing", "skip_existing"],
            is_flag=True,
            help="Skip inputs whose output already exists (resume an interrupted run).",
        ),
        click.Option(
            ["--fail-fast", "fail_fast"],
            is_flag=True,
            help="Stop at the first failed image instead of going on.",
        ),
        click.Option(
            ["--jobs"],
            type=click.IntRange(min=1),
            default=None,
            help="Decode/encode worker threads [default: the CPU count].",
        ),
        click.Option(
            ["--dry-run", "dry_run"],
            is_flag=True,
            help="Print what would be written, without loading the model.",
        ),
        click.Option(
            ["--json", "json"],
            is_flag=True,
            help="Machine-readable progress on stdout: one JSON event per line.",
        ),
        click.Option(
            ["--format", "format"],
            type=click.Choice(FORMAT_CHOICES),
            default=None,
            help="Output format [default: the input's, when it can hold the result].",
        ),
        click.Option(
            ["--quality"],
            type=click.IntRange(1, 100),
            default=None,
            help="JPEG/WebP quality 1-100 [default: the encoder's].",
        ),
    ]
    if cls.kind is Kind.IMAGE_MASK:
        params += [
            click.Option(
                ["--mask"],
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="One mask image used for every input (white = fill).",
            ),
            click.Option(
                ["--masks"],
                type=click.Path(exists=True, file_okay=False, path_type=Path),
                help="Folder of masks matched to the inputs by relative path "
                "(same name; any image extension).",
            ),
        ]
    params += _config_options(cls, train=False, reserved=RUN_COMMON)
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


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        payload = {"event": "end", **_event_dict(report)}
        click.echo(jsonlib.dumps(payload, default=str))
        return
    done, skipped, failed = len(report.done), len(report.skipped), len(report.failed)
    click.echo(f"done {done}, skipped {skipped}, failed {failed}")
    for path, why in report.failed:
        click.echo(f"  failed: {path}: {why}", err=True)
    if getattr(report, "manifest_path", None):
        click.echo(f"manifest: {report.manifest_path}")


def _make_run(cls: type[ModelFamily]) -> click.Command:
    def callback(**kw: Any) -> None:
        from ganedit.infer import run_folder

        inputs, output = _check_run_paths(kw["paths"])
        options = _split_options(kw, RUN_COMMON)
        extra: dict[str, Any] = {}
        if cls.kind is Kind.IMAGE_MASK:
            if kw.get("mask") and kw.get("masks"):
                raise click.UsageError("give --mask or --masks, not both")
            if not kw.get("mask") and not kw.get("masks"):
                raise click.UsageError(f"{cls.name} needs masks: give --mask FILE or --masks DIR")
            extra = {"mask": kw.get("mask"), "masks": kw.get("masks")}
        as_json = kw["json"]
        on_event = None
        seen_end: list[bool] = []
        if as_json:

            def on_event(event: Any) -> None:
                data = _event_dict(event)
                if isinstance(data, dict) and data.get("event") == "end":
                    seen_end.append(True)
                click.echo(jsonlib.dumps(data, default=str))

        tile = kw["tile"]
        with _user_errors(value_is_usage=True):  # run_folder's ValueErrors are usage errors
            report = run_folder(
                cls.name,
                inputs,
                output,
                weights=kw["weights"],
                device=kw["device"],
                precision=kw["precision"],
                batch_size=kw["batch_size"],
                tile=None if tile == "auto" else tile,
                tile_overlap=kw["tile_overlap"],
                outscale=kw["outscale"],
                self_ensemble=kw["self_ensemble"],
                skip_existing=kw["skip_existing"],
                fail_fast=kw["fail_fast"],
                jobs=kw["jobs"],
                dry_run=kw["dry_run"],
                format=kw["format"],
                quality=kw["quality"],
                progress=not as_json,
                on_event=on_event,
                **extra,
                **options,
            )
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
