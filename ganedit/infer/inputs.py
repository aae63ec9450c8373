"""What an :class:`~ganedit.infer.editor.Editor` accepts: images and masks checked and converted
(numpy or tensors, the project's mask convention, the output-size limit)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganedit.family import Kind

if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.editor import Editor

__all__ = ["check_output_size", "model_input", "numpy_mask", "numpy_pixels", "tensor_mask"]


def tensor_mask(mask: torch.Tensor) -> torch.Tensor:
    """A mask tensor as bool under the project convention (True = fill).

    Args:
        mask: any shape; bool (as is), float (``> 0.5``), uint8 (``> 127``), or uint16/int32
            holding 16-bit values (``> 32767``).

    Raises:
        TypeError: another dtype.
    """
    if mask.dtype == torch.bool:
        return mask
    if mask.is_floating_point():
        return mask > 0.5
    if mask.dtype == torch.uint8:
        return mask > 127
    if mask.dtype in (torch.uint16, torch.int32):
        return mask.to(torch.int32) > 32767
    raise TypeError(f"a mask must be bool, float, uint8 or 16-bit, got {mask.dtype}")


def model_input(
    editor: Editor, x: torch.Tensor, mask: torch.Tensor | None
) -> dict[str, torch.Tensor]:
    """Check the arguments of ``editor.forward``; the family's inputs dict on the device:
    ``{"image": (N, C_in, H, W) float32}``, plus (IMAGE_MASK) ``"mask": (N, 1, H, W)``
    float32, 1.0 = fill."""
    if editor.family.kind == Kind.GENERATE:
        raise TypeError(f"{editor.family.name} generates images: use sample() or generate()")
    if x.ndim != 4:
        raise ValueError(f"forward expects (N, C, H, W), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"image: the tensor is empty (shape {tuple(x.shape)})")
    if x.shape[1] != editor.in_channels:
        raise ValueError(
            f"{editor.family.name} works on {editor.in_channels}-channel images, got "
            f"{x.shape[1]} (call the editor itself to convert gray/RGB/RGBA)"
        )
    x = x.to(editor.device, torch.float32, non_blocking=True)
    if editor.family.kind is not Kind.IMAGE_MASK:
        return {"image": x}
    if mask is None:
        raise ValueError(
            f"{editor.family.name} needs a mask (True/1 = fill), or an image with alpha "
            "whose transparent pixels are filled"
        )
    m = tensor_mask(mask.to(editor.device))
    m = m[:, None] if m.ndim == 3 else m
    if m.shape[0] != x.shape[0] or m.shape[1] != 1 or m.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match image {tuple(x.shape)}")
    return {"image": x, "mask": m.float()}


def check_output_size(editor: Editor, height: int, width: int) -> None:
    """Refuse an output over ``GANEDIT_MAX_OUTPUT_PIXELS`` before any work."""
    from ganedit.infer.limits import max_output_pixels, output_limit_reason

    oh, ow = editor.output_size(height, width)
    if editor.family.kind is not Kind.GENERATE and oh * ow > max_output_pixels():
        scale = editor.outscale or editor.scale
        raise ValueError("image: " + output_limit_reason(width, height, scale, ow, oh))


def numpy_pixels(image: Any) -> tuple[np.ndarray, torch.Tensor, bool]:
    """A numpy image checked and made ready for ``editor.edit_pixels``.

    Args:
        image: ``HxWxC`` (C in 1, 2, 3, 4) or ``HxW``, uint8 or uint16.

    Returns:
        ``(array, pixels, squeezed)``: the ``HxWxC`` array, the same as a tensor (uint16 held
        as int32, whose CPU kernels exist), and whether a 2-d image got its channel axis.

    Raises:
        TypeError: a path, or another dtype. ValueError: another shape, or an empty image.
    """
    if isinstance(image, (str, os.PathLike)):
        raise TypeError(
            "image: got a path; read it first with ganedit.read_image(path), or use "
            "ganedit.run_folder for files"
        )
    arr = np.asarray(image)
    if arr.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"expected a uint8 or uint16 image, got {arr.dtype}")
    squeeze = arr.ndim == 2
    arr = arr[:, :, None] if squeeze else arr
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"image: expected an HxW or HxWxC array with C in 1, 2, 3, 4; got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image: the array is empty (shape {arr.shape}); nothing to edit")
    t = torch.from_numpy(np.ascontiguousarray(arr))
    if arr.dtype == np.uint16:
        t = t.to(torch.int32)  # uint16 tensors lack most CPU kernels
    return arr, t, squeeze


def numpy_mask(mask: Any, size: tuple[int, ...]) -> torch.Tensor:
    """A numpy mask image -> ``(1, 1, H, W)`` bool tensor (the project convention)."""
    from ganedit.io.masks import mask_from_pixels

    mk = mask_from_pixels(np.asarray(mask))
    if mk.shape != tuple(size):
        raise ValueError(f"mask shape {mk.shape} does not match image {tuple(size)}")
    return torch.from_numpy(mk)[None, None]
