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

__all__ = ["make_grid", "read_metrics", "truncate_metrics"]


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


def pair_grid(inputs: torch.Tensor, outputs: torch.Tensor) -> np.ndarray:
    """Input beside output, one sample per row; inputs resized (nearest) to the output size.

    Args:
        inputs: ``(N, C, h, w)`` float ``[0, 1]``.
        outputs: ``(N, C, H, W)`` float ``[0, 1]``.
    """
    x = inputs.detach().float()
    if x.shape[-2:] != outputs.shape[-2:]:
        x = F.interpolate(x, size=outputs.shape[-2:], mode="nearest")
    if x.shape[1] != outputs.shape[1]:
        x = (
            x[:, : outputs.shape[1]]
            if x.shape[1] > outputs.shape[1]
            else x.expand(-1, outputs.shape[1], -1, -1)
        )
    both = torch.stack([x.to(outputs.device), outputs.detach().float()], 1).flatten(0, 1)
    return make_grid(both, nrow=2)


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
