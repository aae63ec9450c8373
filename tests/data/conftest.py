"""Fixtures for the ganedit.data tests: tiny image folders written with ganedit.io."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ganedit.io import write_image


@pytest.fixture
def write_images(tmp_path: Path) -> Callable[..., list[np.ndarray]]:
    """``write_images("a", n, h=12, w=10, c=3, seed=0)``: ``n`` random uint8 PNGs
    ``im00.png``... in ``tmp_path / "a"``; returns the arrays."""

    def write(folder: str, n: int, h: int = 12, w: int = 10, c: int = 3, seed: int = 0):
        rng = np.random.default_rng(seed)
        arrs = []
        for i in range(n):
            a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
            write_image(tmp_path / folder / f"im{i:02d}.png", a)
            arrs.append(a)
        return arrs

    return write


@pytest.fixture
def write_flat(tmp_path: Path) -> Callable[..., list[int]]:
    """``write_flat("a", values, h=8, w=8)``: one flat gray PNG per value (``v00.png``...), so a
    decoded sample tells which file it came from; returns the values."""

    def write(folder: str, values: list[int], h: int = 8, w: int = 8) -> list[int]:
        for i, v in enumerate(values):
            write_image(tmp_path / folder / f"v{i:02d}.png", np.full((h, w, 1), v, np.uint8))
        return values

    return write
