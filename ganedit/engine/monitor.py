"""Run-folder outputs: the sample grid image and the metrics log."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganedit.io.atomic import atomic_write_bytes

__all__ = ["column_grid", "make_grid", "read_metrics", "truncate_metrics"]


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile a batch into one image.

    Args:
        images: ``(N, C, H, W)`` float in ``[0, 1]`` (clamped), any device, C in {1, 3}.
        nrow: images per row (default: ``ceil(sqrt(N))``).
        pad: pixels of black between tiles.

    Returns:
        ``(rows * (H + pad) + pad, nrow * (W + pad) + pad, C)`` uint8 numpy array.
    """
    x = images.detach().float().clamp(0, 1).cpu()
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[
            :,
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + col * (w + pad) : pad + col * (w + pad) + w,
        ] = x[i]
    return (grid * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` file (a torn last line is ignored)."""
    rows: list[dict[str, Any]] = []
    p = Path(path)
    if not p.is_file():
        return rows
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def truncate_metrics(path: str | Path, step: int) -> None:
    """Drop rows after ``step`` (a resumed run rewrites them)."""
    p = Path(path)
    if not p.is_file():
        return
    keep = [r for r in read_metrics(p) if int(r.get("step", 0)) <= step]
    atomic_write_bytes(p, "".join(json.dumps(r) + "\n" for r in keep).encode())


def column_grid(columns: list[torch.Tensor], pad: int = 2) -> np.ndarray:
    """Columns side by side, one sample per row (input | output | target ...).

    Args:
        columns: each ``(N, C, H, W)`` float in ``[0, 1]`` (same N; C in {1, 3}; any H, W).
            Every column is resized (nearest) to the tallest height, keeping its aspect, and
            gray columns are shown as RGB when any column is colour.

    Returns:
        ``(N * (H + pad) + pad, width, C)`` uint8 numpy array.
    """
    if not columns:
        raise ValueError("column_grid needs at least one column")
    height = max(int(c.shape[-2]) for c in columns)
    colour = 3 if any(c.shape[1] == 3 for c in columns) else 1
    device = columns[0].device
    parts: list[torch.Tensor] = []
    for c in columns:
        x = c.detach().float().to(device)
        if x.shape[-2] != height:
            width = max(1, round(x.shape[-1] * height / x.shape[-2]))
            x = F.interpolate(x, size=(height, width), mode="nearest")
        if x.shape[1] != colour:
            x = x[:, :1].expand(-1, colour, -1, -1)
        if parts:
            parts.append(x.new_zeros((*x.shape[:3], pad)))
        parts.append(x)
    rows = torch.cat(parts, dim=3)  # (N, C, H, sum of widths + gaps)
    return make_grid(rows, nrow=1, pad=pad)
