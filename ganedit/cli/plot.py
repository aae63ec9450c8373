"""``ganedit plot RUN_DIR``: plot the losses of a training run."""

from __future__ import annotations

from pathlib import Path

import click

from ganedit.cli.common import _user_errors


@click.command("plot")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def plot_cmd(run_dir: Path) -> None:
    """Plot the losses of a training run folder (its metrics.jsonl) and print the image path."""
    from ganedit.engine.plot import plot_run

    with _user_errors():
        path = plot_run(run_dir)
    click.echo(str(path))
