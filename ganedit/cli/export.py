"""``ganedit export RUN|CHECKPOINT OUT.safetensors``: shippable weights from a training run."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ganedit.cli.common import CONTEXT, _user_errors


@click.command("export", context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fp16", is_flag=True, help="Store the weights as float16 (half the size).")
@click.option(
    "--no-ema",
    "no_ema",
    is_flag=True,
    help="Export the trained generators themselves, not their EMA copies.",
)
@click.option("--force", is_flag=True, help="Replace OUT (and its card) if it exists.")
def export_cmd(source: Path, out: Path, fp16: bool, no_ema: bool, force: bool) -> None:
    """Write the generators of SOURCE (a run folder: its newest checkpoint; or one
    checkpoint's .json/.safetensors) as OUT.safetensors plus its OUT.json card, ready for
    `ganedit run MODEL --weights OUT.safetensors` and ganedit.load(MODEL, weights=OUT)."""
    from ganedit.engine import CheckpointError, EMAWarning, export_weights

    if out.suffix != ".safetensors":
        raise click.UsageError(f"{out}: the output must be a .safetensors file")
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to replace it")
    with _user_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EMAWarning)
        try:
            path = export_weights(source, out, fp16=fp16, ema=not no_ema)
        except CheckpointError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"weights: {path}\ncard:    {path.with_suffix('.json')}")
    for w in caught:  # the EMA's warning once, as a line of its own; any other as Python's
        if issubclass(w.category, EMAWarning):
            click.echo(str(w.message), err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
