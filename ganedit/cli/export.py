"""``ganedit export RUN|CHECKPOINT OUT.safetensors``: shippable weights from a training run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from ganedit.cli.common import CONTEXT, _user_errors

#: Largest share of the initial weights an exported EMA may still hold without a warning.
EMA_INIT_SHARE = 0.1


def ema_warning(steps: int, decay: float | None, limit: float = EMA_INIT_SHARE) -> str | None:
    """Why an EMA updated ``steps`` times with ``decay`` is not yet the trained network, or
    ``None`` when it is.

    After ``n`` updates ``ema = decay**n * initial + (1 - decay**n) * (recent weights)``, so
    ``decay**n`` of it is still the untrained initial weights; above ``limit`` (10%), i.e.
    fewer than about ``2.3 / (1 - decay)`` steps, the message says so, with the steps needed
    and what to do instead. ``decay`` 0 or ``None`` (no EMA) never warns.
    """
    if not decay or not 0.0 < decay < 1.0 or steps < 0:
        return None
    share = decay**steps
    if share <= limit:
        return None
    needed = math.ceil(math.log(limit) / math.log(decay))
    fits = math.floor(limit ** (1.0 / steps) * 1000) / 1000 if steps else 0.0
    smaller = f" (at most {fits:g} for {steps} steps)" if fits > 0 else ""
    return (
        f"warning: the EMA (decay {decay:g}) has seen only {steps} steps, so {share:.0%} of it "
        f"is still the initial, untrained weights (it needs about {needed} steps at this "
        f"decay). Export the trained generators with --no-ema, or train with a smaller "
        f"--ema-decay{smaller} or for longer."
    )


def _card_ema_warning(weights: Path) -> str | None:
    """:func:`ema_warning` for an exported file, from its card (the step it was exported
    at, the generators taken from an EMA and the Config's ``ema_decay``, else the decay the
    card's ``training`` section records, where it does)."""
    card = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    training = card.get("training") or {}
    if not any(dict(training.get("ema") or {}).values()):
        return None
    decay = (card.get("config") or {}).get("ema_decay") or training.get("ema_decay")
    return ema_warning(int(training.get("step", -1)), decay)


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
    from ganedit.engine import CheckpointError, export_weights

    if out.suffix != ".safetensors":
        raise click.UsageError(f"{out}: the output must be a .safetensors file")
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to replace it")
    with _user_errors():
        try:
            path = export_weights(source, out, fp16=fp16, ema=not no_ema)
        except CheckpointError as exc:
            raise click.ClickException(str(exc)) from None
        warning = _card_ema_warning(path)
    click.echo(f"weights: {path}\ncard:    {path.with_suffix('.json')}")
    if warning:
        click.echo(warning, err=True)
