"""Conversions between an image file's layout and what a model consumes and produces.

A file is gray (1 channel), gray + alpha (2), RGB (3) or RGBA (4), 8 or 16 bit. A model takes
``in_channels`` and gives ``out_channels`` colour channels (1 or 3; :class:`~ganedit.IOSpec`).
The rules, for a file with ``c`` colour channels:

* Into the model: gray is replicated to RGB for an RGB model; RGB becomes gray (kornia's
  ``rgb_to_grayscale``, ITU-R 601 weights) for a gray model.
* Out of the model: a model that keeps its channel count (1 -> 1, 3 -> 3) gives the file's own
  colour layout back: a 3 -> 3 model on a gray file runs on RGB and its result is converted
  back to gray; a 1 -> 1 model on an RGB file runs on gray and its result is replicated to RGB.
  A model that changes it gives what it makes: a 1 -> 3 (colourising) model turns a gray or
  RGB file into RGB; a 3 -> 1 model gives gray.
* Alpha never enters the model: it is carried beside and put back, resized (bicubic,
  antialiased when shrinking) to the output size when that differs. (An IMAGE_MASK family
  whose mask came from the alpha channel gives an opaque result instead; the editor drops it.)
* Integer images: uint8 (0-255) and uint16 (0-65535; held as int32 on the way because uint16
  tensors lack most CPU kernels) map to float ``[0, 1]`` and back with rounding, so 16-bit
  depth is kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "from_model",
    "merge_alpha",
    "peak_of",
    "split_alpha",
    "to_float",
    "to_integer",
    "to_model",
]


def split_alpha(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split colour from alpha.

    Args:
        x: ``(N, C, H, W)`` float in ``[0, 1]``, C in 1 (gray), 2 (gray + alpha), 3 (RGB),
            4 (RGBA).

    Returns:
        ``(colour, alpha)``: ``(N, 1 or 3, H, W)`` and ``(N, 1, H, W)`` or ``None``.
    """
    c = x.shape[1]
    if c not in (1, 2, 3, 4):
        raise ValueError(f"expected 1, 2, 3 or 4 channels (gray, gray+alpha, RGB, RGBA), got {c}")
    if c in (2, 4):
        return x[:, :-1], x[:, -1:]
    return x, None


def to_model(colour: torch.Tensor, in_channels: int) -> torch.Tensor:
    """The colour channels converted to the model's ``in_channels``.

    Args:
        colour: ``(N, 1 or 3, H, W)`` float in ``[0, 1]``.
        in_channels: 1 or 3.

    Returns:
        ``(N, in_channels, H, W)`` float in ``[0, 1]`` (``colour`` itself when it already fits).
    """
    c = colour.shape[1]
    if c == in_channels:
        return colour
    if c == 1 and in_channels == 3:
        return colour.expand(-1, 3, -1, -1)
    if c == 3 and in_channels == 1:
        import kornia

        return kornia.color.rgb_to_grayscale(colour)
    raise ValueError(f"cannot feed a {c}-channel image to a {in_channels}-channel model")


def from_model(y: torch.Tensor, file_channels: int, in_channels: int) -> torch.Tensor:
    """The model's output in the layout the file gets back (module docstring).

    Args:
        y: ``(N, out_channels, H, W)`` float in ``[0, 1]``, out_channels 1 or 3.
        file_channels: the file's colour channels (1 or 3).
        in_channels: the model's input channels (1 or 3).

    Returns:
        ``(N, C, H, W)`` float in ``[0, 1]``: C = ``file_channels`` when the model keeps its
        channel count, else ``out_channels``.
    """
    out = y.shape[1]
    if out != in_channels or out == file_channels:
        return y
    if out == 3 and file_channels == 1:
        import kornia

        return kornia.color.rgb_to_grayscale(y)
    if out == 1 and file_channels == 3:
        return y.expand(-1, 3, -1, -1)
    raise ValueError(f"cannot give a {out}-channel result to a {file_channels}-channel file")


def merge_alpha(y: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
    """Put ``alpha`` back beside the colour channels, resized to ``y``'s size.

    Args:
        y: ``(N, C, H', W')`` float in ``[0, 1]``.
        alpha: ``(N, 1, H, W)`` float in ``[0, 1]``, or ``None`` (then ``y`` is returned).

    Returns:
        ``(N, C + 1, H', W')``; alpha resized bicubically (antialiased when shrinking) and
        clamped to ``[0, 1]`` when ``(H, W) != (H', W')``.
    """
    if alpha is None:
        return y
    alpha = alpha.to(y.device, y.dtype)
    if alpha.shape[-2:] != y.shape[-2:]:
        shrink = alpha.shape[-2] > y.shape[-2] or alpha.shape[-1] > y.shape[-1]
        alpha = F.interpolate(
            alpha, size=y.shape[-2:], mode="bicubic", antialias=shrink, align_corners=False
        ).clamp_(0, 1)
    return torch.cat([y, alpha], 1)


def peak_of(dtype: torch.dtype) -> float:
    """The largest value of an integer image dtype: 255 (uint8), else 65535 (16-bit)."""
    return 255.0 if dtype == torch.uint8 else 65535.0


def to_float(batch: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """Integer images to model floats.

    Args:
        batch: ``(N, H, W, C)`` uint8 (0-255), uint16 or int32 (0-65535), C in 1..4.
        device: where to convert (default: ``batch``'s device).

    Returns:
        ``(N, C, H, W)`` float32 in ``[0, 1]``.
    """
    x = batch.to(device or batch.device, non_blocking=True)
    if x.dtype == torch.uint16:
        x = x.to(torch.int32)
    return x.to(torch.float32).permute(0, 3, 1, 2).div_(peak_of(batch.dtype))


def to_integer(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Model floats to integer images, rounded and clamped on ``y``'s device.

    Args:
        y: ``(N, C, H, W)`` float in ``[0, 1]``.
        dtype: ``torch.uint8``, ``torch.uint16`` or ``torch.int32`` (16-bit values).

    Returns:
        ``(N, H, W, C)`` contiguous tensor of ``dtype``.
    """
    peak = peak_of(dtype)
    out = y.mul(peak).round_().clamp_(0, peak).permute(0, 2, 3, 1)
    if dtype == torch.uint8:
        return out.to(torch.uint8).contiguous()
    ints = out.to(torch.int32)
    return (ints.to(torch.uint16) if dtype == torch.uint16 else ints).contiguous()
