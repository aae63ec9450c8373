"""The one mask convention of ganedit: which pixels of a mask (or an image) are to be filled.

A mask is an ``(H, W)`` bool array, True = fill (the hole an inpainting model paints over).

* A mask *image* (a file, or an array) is "fill" where it is bright: any colour channel above
  half the range (``> 127`` for uint8, ``> 32767`` for uint16, ``> 0.5`` for floats). Its alpha
  channel, if any, is ignored: a mask file is read for its colours. See
  :func:`mask_from_pixels` and :func:`read_mask`.
* An *image* with alpha and no separate mask marks its hole by transparency: "fill" where
  alpha is 0. See :func:`mask_from_alpha`.

Example::

    from ganedit.io import read_image, read_mask, mask_from_alpha

    hole = read_mask("hole.png")                  # (H, W) bool, True = fill
    img = read_image("cat.png")                   # (H, W, 4) uint8 RGBA with a painted hole
    hole = mask_from_alpha(img)                   # (H, W) bool, or None without alpha
"""

from __future__ import annotations

import os

import numpy as np

from ganedit.io.decode import read_image

__all__ = ["mask_from_alpha", "mask_from_pixels", "read_mask"]

_HALF = {np.dtype(np.uint8): 127, np.dtype(np.uint16): 32767}


def _channels_last(arr: np.ndarray) -> np.ndarray | None:
    """``arr`` as ``(H, W, C)`` with C in 1..4, or None when it has another shape."""
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim == 3 and 1 <= arr.shape[2] <= 4:
        return arr
    return None


def mask_from_pixels(arr: np.ndarray) -> np.ndarray:
    """The fill mask of a mask image: True where it is bright.

    Args:
        arr: ``(H, W)`` or ``(H, W, C)`` with C in 1, 2, 3, 4. dtype bool (taken as it is),
            uint8 (fill where a colour channel is ``> 127``), uint16 (``> 32767``) or float
            (``> 0.5``, values nominally in ``[0, 1]``). For C == 2 or 4 the last channel is
            alpha and is ignored; "any colour channel" means gray, or any of R, G, B.

    Returns:
        ``(H, W)`` bool array, True = fill.

    Raises:
        ValueError: another dtype (e.g. int32) or shape; the message gives both.
    """
    a = np.asarray(arr)
    hwc = _channels_last(a)
    if hwc is None or not (a.dtype == np.bool_ or a.dtype in _HALF or a.dtype.kind == "f"):
        raise ValueError(
            f"a mask must be (H, W) or (H, W, C<=4) bool, uint8, uint16 or float; "
            f"got dtype {a.dtype} and shape {a.shape}"
        )
    c = hwc.shape[2]
    colour = hwc[:, :, : c - 1] if c in (2, 4) else hwc
    if a.dtype == np.bool_:
        return np.asarray(colour.any(axis=2))
    threshold = _HALF.get(a.dtype, 0.5)
    return np.asarray((colour > threshold).any(axis=2))


def mask_from_alpha(image: np.ndarray) -> np.ndarray | None:
    """The fill mask an image marks with transparency: True where alpha is 0.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` array of any dtype; C == 2 (gray + alpha) or
            C == 4 (RGBA) carry alpha in the last channel.

    Returns:
        ``(H, W)`` bool array (True = fill = fully transparent), or None when the image has no
        alpha channel.
    """
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] not in (2, 4):
        return None
    return np.asarray(a[:, :, -1] == 0)


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a mask file: True where it is bright (see :func:`mask_from_pixels`).

    Args:
        path: Any image file :func:`~ganedit.io.read_image` reads (gray, RGB, RGBA, 8 or 16 bit).

    Returns:
        ``(H, W)`` bool array, True = fill. The file's alpha channel is ignored.

    Raises:
        ImageReadError: the file cannot be read; the message names it.
    """
    return mask_from_pixels(read_image(path))
