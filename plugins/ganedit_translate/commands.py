"""``ganedit edges IN... OUT``: Canny edge maps for the bundled pix2pix weights."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ganedit_translate.edges import write_edge_maps

__all__ = ["edges_command"]


@click.command(name="edges")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--size", type=int, default=64, show_default=True, help="Resize to SIZE x SIZE.")
@click.option("--no-resize", is_flag=True, help="Keep each image's own size.")
@click.option("--low", type=float, default=50, show_default=True, help="Canny low threshold.")
@click.option("--high", type=float, default=150, show_default=True, help="Canny high threshold.")
def edges_command(
    inputs: tuple[Path, ...], out: Path, size: int, no_resize: bool, low: float, high: float
) -> None:
    """Write Canny edge maps (white edges on black, PNG) of the images under INPUTS to OUT.

    Sub-folders are mirrored; a file that cannot be read is reported and skipped (exit code
    1 when any failed). The defaults give the inputs of the bundled pix2pix weights:
    `ganedit edges photos/ edges/ && ganedit run pix2pix edges/ out/`.
    """
    if size < 1:
        raise click.BadParameter("must be >= 1", param_hint="--size")
    report = write_edge_maps(inputs, out, None if no_resize else size, low, high)
    for path, why in report.failed:
        click.echo(f"failed: {path}: {why}", err=True)
    click.echo(f"{len(report.done)} edge maps written to {out}, {len(report.failed)} failed")
    sys.exit(1 if report.failed else 0)
