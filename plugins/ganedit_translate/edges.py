"""Canny edge maps: the input domain of the bundled ``pix2pix`` weights.

The bundled pix2pix weights turn edge maps into Fashion-MNIST-like items. The edge maps come
from :func:`edge_map`: the image is converted to gray (luma), resized to ``size`` x ``size``
(bicubic; the Fashion-MNIST items themselves are 28 -> 64 bicubic in
``scripts/make_translation_data.py``), and passed through ``cv2.Canny(gray, low, high)``:
white (255) edges on black (0). ``ganedit edges IN... OUT`` does the same for a user's own
files, so ``ganedit run pix2pix`` gets inputs like the ones it was trained on.

Command line::

    ganedit edges photos/ shoe.png edges/ --size 64 --low 50 --high 150
    ganedit run pix2pix edges/ out/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ganedit.io import plan_output, read_image, walk_inputs, write_image

__all__ = ["EdgeReport", "edge_map", "write_edge_maps"]


def _to_gray_u8(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` / ``(H, W, C)`` uint8/uint16 gray, RGB or RGBA -> ``(H, W)`` uint8 gray."""
    img = np.asarray(image)
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ValueError(f"edge_map needs uint8 or uint16 pixels, got {img.dtype}")
    if img.ndim == 3:
        if img.shape[2] in (2, 4):  # drop alpha (gray + alpha, RGBA)
            img = img[..., :-1]
        img = img[..., 0] if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.ndim != 2:
        raise ValueError(f"edge_map needs an (H, W[, C]) image, got shape {image.shape}")
    return np.ascontiguousarray(img)


def edge_map(
    image: np.ndarray, size: int | None = 64, low: float = 50, high: float = 150
) -> np.ndarray:
    """The Canny edge map of one image, as the bundled pix2pix weights expect it.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` uint8 or uint16, C in 1..4 (gray, gray + alpha,
            RGB, RGBA as :func:`ganedit.io.read_image` gives; alpha is ignored).
        size: resize to ``size`` x ``size`` first (bicubic, ``cv2.INTER_CUBIC``); ``None``
            keeps the image's own size.
        low: Canny's lower hysteresis threshold (on the 0..255 gray scale).
        high: Canny's upper threshold.

    Returns:
        ``(size, size)`` (or ``(H, W)``) uint8 in {0, 255}: 255 on edges, 0 elsewhere.
    """
    gray = _to_gray_u8(image)
    if size is not None and gray.shape != (size, size):
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.Canny(gray, float(low), float(high))


@dataclass
class EdgeReport:
    """What :func:`write_edge_maps` did: files written, and ``(path, why)`` of every failure."""

    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def write_edge_maps(
    inputs: Sequence[str | Path],
    out: str | Path,
    size: int | None = 64,
    low: float = 50,
    high: float = 150,
) -> EdgeReport:
    """Write the edge map of every image under ``inputs`` as PNG into ``out``.

    Sub-folders are mirrored (``in/a/b.jpg`` -> ``out/a/b.png``); a file that cannot be read
    or written is listed in the report and the others go on.

    Args:
        inputs: image files and folders (walked recursively).
        out: the output folder (created).
        size, low, high: see :func:`edge_map`.

    Returns:
        An :class:`EdgeReport`; missing inputs are failures too.
    """
    report = EdgeReport()
    walked = walk_inputs([Path(p) for p in inputs])
    report.failed += [(Path(p), "not found") for p in walked.missing]
    for item in walked.items:
        dest = plan_output(item, Path(out), "png")
        try:
            edges = edge_map(read_image(item.path), size, low, high)
            write_image(dest, edges)
        except Exception as exc:  # a bad file never stops the batch
            report.failed.append((item.path, f"{type(exc).__name__}: {exc}"))
            continue
        report.done.append(dest)
    return report
