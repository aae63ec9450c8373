"""``ganedit import SOURCE... OUT.safetensors --to FAMILY``: community checkpoints, read
safely (no ``torch.load``), as ganedit weights."""

from __future__ import annotations

from pathlib import Path

import click

from ganedit.cli.common import CONTEXT, _user_errors


@click.command("import", context_settings=CONTEXT)
@click.argument(
    "paths", nargs=-1, required=True, metavar="SOURCE... OUT", type=click.Path(path_type=Path)
)
@click.option(
    "--to",
    "to",
    required=True,
    help="The family that runs the weights (one whose plugin registers an importer; an "
    "unknown name lists them), or 'tensors' to keep the state dict as it is (e.g. VGG19 "
    "weights for a perceptual loss).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Config field of the family (repeatable), e.g. --set direction=b2a.",
)
@click.option(
    "--license",
    "license_id",
    default=None,
    help="The weights' licence (SPDX id or text), recorded in the card [default: unknown].",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Read a Lightning checkpoint's tensors (its OmegaConf/Lightning objects become inert "
    "placeholders that are never called).",
)
@click.option(
    "--allow-noncommercial",
    is_flag=True,
    help="Accept an architecture with a non-commercial licence (recorded in the card and in "
    "every run manifest).",
)
@click.option("--force", is_flag=True, help="Replace OUT (and its card) if it exists.")
def import_cmd(
    paths: tuple[Path, ...],
    to: str,
    settings: tuple[str, ...],
    license_id: str | None,
    lenient: bool,
    allow_noncommercial: bool,
    force: bool,
) -> None:
    """Import SOURCE... (torch.save .pth/.pt/.ckpt files, zip or legacy layout, or
    .safetensors) as OUT.safetensors plus its OUT.json card.

    Pickles are read by a restricted reader that never calls torch.load: only tensors,
    dicts and lists come out, and a file that asks for anything else (code, TorchScript,
    odd storages) is refused with the reason.

    \b
    Examples:
      ganedit import RealESRGAN_x4plus.pth realesrgan-x4.safetensors --to spandrel
      ganedit import horse2zebra.pth horse2zebra.safetensors --to cyclegan
      ganedit import latest_net_G_A.pth latest_net_G_B.pth h2z.safetensors --to cyclegan
      ganedit import edges2shoes.pth edges2shoes.safetensors --to pix2pix
    """
    from ganedit.config import parse_override
    from ganedit.importing import import_checkpoint

    if len(paths) < 2:
        raise click.UsageError("give at least one SOURCE and the OUT.safetensors file")
    *sources, out = paths
    if out.suffix != ".safetensors":
        raise click.UsageError(f"{out}: the output (last argument) must be a .safetensors file")
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to replace it")
    for src in sources:
        if not src.is_file():
            raise click.UsageError(f"{src}: no such file")
    with _user_errors():
        values = dict(parse_override(s) for s in settings)
        path = import_checkpoint(
            sources,
            out,
            to=to,
            settings=values,
            license=license_id,
            lenient=lenient,
            allow_noncommercial=allow_noncommercial,
        )
    from ganedit.weights import load_card

    card = load_card(path)
    click.echo(f"weights: {path}\ncard:    {path.with_suffix('.json')}")
    click.echo(
        f"family:  {card.get('family') or '(none: plain tensors)'}; layout: {card.get('layout')}"
        f"; license: {card.get('license')}"
        + ("; NON-COMMERCIAL" if card.get("non_commercial") else "")
    )
