"""Decoded pixels to training tensors: ``(C, H, W)`` uint8, channel conversion, uint8 resizes.

Everything here works on uint8 so that the decoded data can stay on the device at one byte a
sample value; the float conversion happens per batch (see :class:`ganedit.data.TrainData`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganedit.data.errors import DatasetError

__all__ = ["Size", "mask_to_chw", "pair", "resize_u8", "to_chw"]

#: A size option: an int (``load_size``: the shorter side; ``crop``: a square) or ``(H, W)``.
Size = int | tuple[int, int]

_GRAY = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)  # ITU-R BT.601 luma


def pair(size: Size | None) -> tuple[int, int] | None:
    """``size`` as ``(H, W)`` (an int is a square), or None."""
    if size is None:
        return None
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _as_u8_hwc(img: np.ndarray, name: str) -> np.ndarray:
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or not 1 <= img.shape[2] <= 4:
        raise DatasetError(f"{name}: expected an (H, W[, C]) image, got shape {img.shape}")
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype != np.uint8:
        raise DatasetError(f"{name}: unsupported pixel type {img.dtype}")
    return img


def to_chw(img: np.ndarray, channels: int, name: str) -> torch.Tensor:
    """An image array as a training tensor.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` uint8 or uint16 (C in 1..4; C == 2 or 4: the last
            channel is alpha and is dropped). uint16 keeps its high byte.
        channels: 1 (gray; RGB is converted with BT.601 weights) or 3 (RGB; gray is repeated).
        name: what to call the image in an error (its file).

    Returns:
        ``(channels, H, W)`` uint8 tensor in ``[0, 255]`` (CPU, contiguous).

    Raises:
        DatasetError: another dtype or shape, or a conversion other than gray <-> RGB.
    """
    arr = _as_u8_hwc(img, name)
    c = arr.shape[2]
    if c in (2, 4):
        arr, c = arr[:, :, : c - 1], c - 1
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)
    if channels == c:
        return t.contiguous()
    if channels == 1 and c == 3:
        return (t.float() * _GRAY).sum(0, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if channels == 3 and c == 1:
        return t.expand(3, -1, -1).contiguous()
    raise DatasetError(f"{name}: cannot convert {c} channels to {channels}")


def mask_to_chw(mask: np.ndarray) -> torch.Tensor:
    """An ``(H, W)`` bool fill mask as a ``(1, H, W)`` uint8 tensor, 255 = fill, 0 = keep."""
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.uint8) * 255)[None]


def _target(hw: tuple[int, int], load_size: Size) -> tuple[int, int]:
    h, w = hw
    if isinstance(load_size, int):
        s = load_size / min(h, w)
        return max(1, round(h * s)), max(1, round(w * s))
    return int(load_size[0]), int(load_size[1])


def resize_u8(t: torch.Tensor, load_size: Size | None, *, mask: bool = False) -> torch.Tensor:
    """Resize a uint8 image (the ``load_size`` option, applied once when decoding).

    Args:
        t: ``(C, H, W)`` or ``(N, C, H, W)`` uint8 in ``[0, 255]``.
        load_size: None (unchanged), an int (the shorter side becomes it, aspect kept) or
            ``(H, W)`` (exact).
        mask: nearest-neighbour (values stay 0/255) instead of antialiased bilinear.

    Returns:
        The resized tensor, same dtype and layout (``t`` itself when the size is unchanged).
    """
    if load_size is None:
        return t
    size = _target((t.shape[-2], t.shape[-1]), load_size)
    if size == tuple(t.shape[-2:]):
        return t
    x = (t[None] if t.dim() == 3 else t).float()
    if mask:
        y = F.interpolate(x, size=size, mode="nearest")
    else:
        y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    y = y.round().clamp(0, 255).to(torch.uint8)
    return y[0] if t.dim() == 3 else y
