"""``ganedit inpaint-sheet``: a before | mask | after contact sheet of an inpainting run.

Every image under OUTPUTS is matched by relative path (suffix ignored) to its input under
INPUTS and to its mask under MASKS (a folder, as ``ganedit run --masks``; or one file, as
``--mask``); an input with alpha and no mask shows its transparent pixels as the mask. One row
per image, each panel scaled to ``--height`` pixels, the mask drawn white on black.

Example::

    ganedit run inpaint photos/ out/ --masks holes/
    ganedit inpaint-sheet photos/ holes/ out/ sheet.png --height 192
"""

from __future__ import annotations

from pathlib import Path

import click
import cv2
import numpy as np

from ganedit.io import IMAGE_EXTENSIONS, mask_from_alpha, read_image, read_mask, write_image

__all__ = ["make_sheet", "sheet_command"]


def _by_stem(root: Path) -> dict[Path, Path]:
    """Image files under ``root`` keyed by relative path without suffix."""
    if root.is_file():
        return {Path(root.stem): root}
    exts = {e.lower() for e in IMAGE_EXTENSIONS}
    found = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."):
            found[p.relative_to(root).with_suffix("")] = p
    return found


def _rgb8(img: np.ndarray) -> np.ndarray:
    """Any read_image result -> ``(H, W, 3)`` uint8 (alpha composited on mid-gray)."""
    a = img.astype(np.float32) / (65535.0 if img.dtype == np.uint16 else 255.0)
    a = a[:, :, None] if a.ndim == 2 else a
    if a.shape[2] in (2, 4):
        alpha = a[:, :, -1:]
        a = a[:, :, :-1] * alpha + 0.5 * (1 - alpha)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, 2)
    return (a * 255 + 0.5).astype(np.uint8)


def _panel(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    width = max(1, round(w * height / h))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def _row(inp: Path, mask: Path | None, out: Path, height: int) -> np.ndarray:
    before = read_image(inp)
    hole = read_mask(mask) if mask is not None else mask_from_alpha(before)
    if hole is None:
        raise click.ClickException(f"{inp}: no mask found and the image has no alpha")
    panels = [_rgb8(before), np.repeat(hole[:, :, None].astype(np.uint8) * 255, 3, 2)]
    panels.append(_rgb8(read_image(out)))
    gap = np.full((height, 4, 3), 255, np.uint8)
    row = [_panel(panels[0], height), gap, _panel(panels[1], height), gap]
    return np.concatenate([*row, _panel(panels[2], height)], 1)


def make_sheet(
    inputs: Path, masks: Path | None, outputs: Path, sheet: Path, height: int = 256,
    limit: int | None = None,
) -> tuple[Path, int]:  # fmt: skip
    """Write the contact sheet; return its path and the number of rows.

    Args:
        inputs: the run's input folder (or one file).
        masks: its masks folder, one mask file, or None (alpha of each input).
        outputs: the run's output folder (or one file).
        sheet: the image to write (PNG or JPEG by suffix).
        height: panel height in pixels.
        limit: at most this many rows (sorted by path).

    Raises:
        click.ClickException: nothing to show, or an output without its input / mask.
    """
    ins, outs = _by_stem(inputs), _by_stem(outputs)
    shared = masks if masks is not None and masks.is_file() else None
    mks = _by_stem(masks) if masks is not None and shared is None else {}
    keys = sorted(outs)[:limit]
    if not keys:
        raise click.ClickException(f"{outputs}: no images")
    rows = []
    for key in keys:
        if key not in ins:
            raise click.ClickException(f"{outs[key]}: no input at {inputs / key}.*")
        mask = shared or mks.get(key)
        if masks is not None and mask is None:
            raise click.ClickException(f"{outs[key]}: no mask at {masks / key}.*")
        rows.append(_row(ins[key], mask, outs[key], height))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    write_image(sheet, np.concatenate(rows, 0))
    return sheet, len(rows)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", type=click.Path(exists=True, path_type=Path))
@click.argument("masks", type=click.Path(exists=True, path_type=Path))
@click.argument("outputs", type=click.Path(exists=True, path_type=Path))
@click.argument("sheet", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--height", type=click.IntRange(16, 4096), default=256, show_default=True,
              help="Panel height in pixels.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@click.option("--alpha", is_flag=True, help="Ignore MASKS: take each input's transparent pixels.")
def sheet_command(
    inputs: Path, masks: Path, outputs: Path, sheet: Path, height: int, limit: int | None,
    alpha: bool,
) -> None:  # fmt: skip
    """Before | mask | after contact sheet of an inpainting run (one row per output image).

    INPUTS and OUTPUTS are the run's folders, MASKS its --masks folder or --mask file (with
    --alpha, any existing path: the inputs' transparency is the mask). SHEET is the image
    to write.
    """
    path, n = make_sheet(inputs, None if alpha else masks, outputs, sheet, height, limit)
    click.echo(f"{path}: {n} rows (before | mask | after)")
