"""Loss curves drawn with OpenCV (matplotlib is not a dependency)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ganedit.engine.monitor import read_metrics

__all__ = ["plot_run", "render_curves"]

_SKIP = {"step", "time", "img_per_s", "epoch", "lr"}
_COLORS = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
]


def _nice(v: float) -> str:
    return f"{v:.3g}"


def render_curves(
    series: dict[str, list[tuple[float, float]]], width: int = 960, height: int = 540
) -> np.ndarray:
    """Draw ``{name: [(step, value), ...]}`` as lines on one chart.

    Returns:
        ``(height, width, 3)`` uint8 RGB image: white background, axes with min/max labels,
        one coloured polyline per series, a legend at the top right. Non-finite values are
        skipped.
    """
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, 20, 20, 40
    pts = [(s, v) for vals in series.values() for s, v in vals if math.isfinite(v)]
    cv2.rectangle(img, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    if not pts:
        cv2.putText(
            img,
            "no data",
            (width // 2 - 40, height // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        return img
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def to_px(s: float, v: float) -> tuple[int, int]:
        x = left + (s - x0) / (x1 - x0) * (width - left - right)
        y = height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom)
        return int(round(x)), int(round(y))

    font, small = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    for frac in (0.0, 0.5, 1.0):
        v = y0 + frac * (y1 - y0)
        _, y = to_px(x0, v)
        cv2.line(img, (left - 4, y), (left, y), (0, 0, 0), 1)
        cv2.putText(img, _nice(v), (4, y + 4), font, small, (0, 0, 0), 1, cv2.LINE_AA)
        s = x0 + frac * (x1 - x0)
        x, _ = to_px(s, y0)
        cv2.line(img, (x, height - bottom), (x, height - bottom + 4), (0, 0, 0), 1)
        cv2.putText(
            img,
            str(int(round(s))),
            (x - 15, height - bottom + 20),
            font,
            small,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    cv2.putText(img, "step", (width // 2 - 15, height - 5), font, small, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, vals) in enumerate(series.items()):
        color = _COLORS[i % len(_COLORS)]
        line = np.array([to_px(s, v) for s, v in vals if math.isfinite(v)], np.int32)
        if len(line) > 1:
            cv2.polylines(img, [line.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
        elif len(line) == 1:
            cv2.circle(img, tuple(int(c) for c in line[0]), 3, color, -1)
        ly = top + 18 + 20 * i
        cv2.line(img, (width - right - 150, ly - 4), (width - right - 125, ly - 4), color, 2)
        cv2.putText(img, name, (width - right - 118, ly), font, small, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def plot_run(run_dir: str | Path) -> Path:
    """Draw the losses in ``<run_dir>/metrics.jsonl`` into ``<run_dir>/losses.png``.

    Returns:
        The PNG path. Raises ``FileNotFoundError`` naming the file when there is no log.
    """
    from ganedit.io import write_image

    run = Path(run_dir)
    log = run / "metrics.jsonl"
    if not log.is_file():
        raise FileNotFoundError(f"{log}: no metrics log (is this a training run folder?)")
    series: dict[str, list[tuple[float, float]]] = {}
    for row in read_metrics(log):
        for k, v in row.items():
            if k in _SKIP or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            series.setdefault(k, []).append((float(row.get("step", 0)), float(v)))
    out = run / "losses.png"
    write_image(out, render_curves(series))
    return out
