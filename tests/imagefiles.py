"""Small image writers shared by the tests (importable as ``imagefiles``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def random_image(h: int, w: int, c: int = 3, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """A smooth random image ``(h, w, c)`` of ``dtype`` (uint8 or uint16)."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    small = rng.random((max(2, h // 4), max(2, w // 4), c))
    ys = np.linspace(0, small.shape[0] - 1, h).round().astype(int)
    xs = np.linspace(0, small.shape[1] - 1, w).round().astype(int)
    img = small[ys][:, xs] * 0.8 + rng.random((h, w, c)) * 0.2
    return (img * top).round().astype(dtype)


def write_test_image(path: Path, img: np.ndarray) -> Path:
    """Write ``img`` (HxWxC RGB(A), uint8/uint16) with OpenCV, creating parent folders."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    arr = img
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    if not cv2.imwrite(str(path), arr):
        raise OSError(f"{path}: cv2.imwrite failed")
    return path
