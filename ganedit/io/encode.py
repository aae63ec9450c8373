"""Encoding RGB(A) arrays to PNG, JPEG, WebP, BMP or TIFF bytes, atomic writes, format choice.

Always encodes to bytes with :func:`cv2.imencode` and writes them with
:func:`ganedit.io.atomic.atomic_path` (never ``cv2.imwrite`` on a path).

Encoder settings:

- PNG: OpenCV's default parameters (no compression flag: an explicit level is several times
  slower for little gain); 8- or 16-bit, gray/RGB/RGBA.
- JPEG: quality 95 unless ``quality`` is given; 8-bit gray or RGB only.
- WebP: lossless unless ``quality`` (1-100) is given, which selects lossy at that quality;
  8-bit RGB/RGBA (gray is stored as RGB by the format). Lossless keeps the colour of fully
  transparent pixels (exact round trip).
- BMP: 8-bit gray/RGB/RGBA (RGBA as 32-bit BMP; many viewers ignore BMP alpha, so
  :func:`output_format_for` does not choose BMP for images with alpha).
- TIFF: OpenCV's default parameters; 8- or 16-bit, gray/RGB/RGBA.

:func:`encode_image` refuses what a format cannot hold (alpha in JPEG, 16-bit in JPEG/WebP/BMP)
instead of dropping it silently; :func:`output_format_for` picks a format that can hold the image
and says so in a warning when that differs from what was asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ganedit.io.atomic import atomic_path
from ganedit.io.errors import ImageWriteError, os_error_reason

__all__ = [
    "DEFAULT_JPEG_QUALITY",
    "WRITE_FORMATS",
    "encode_image",
    "normalize_format",
    "output_format_for",
    "write_image",
]

DEFAULT_JPEG_QUALITY = 95

#: Canonical format name -> (holds alpha, holds 16-bit).
WRITE_FORMATS: dict[str, tuple[bool, bool]] = {
    "png": (True, True),
    "jpg": (False, False),
    "webp": (True, False),
    "bmp": (False, False),
    "tiff": (True, True),
}

_ALIASES = {
    "png": "png",
    "jpg": "jpg",
    "jpeg": "jpg",
    "jpe": "jpg",
    "webp": "webp",
    "bmp": "bmp",
    "dib": "bmp",
    "tif": "tiff",
    "tiff": "tiff",
}


def normalize_format(fmt: str) -> str | None:
    """Map a format name or suffix (``"JPEG"``, ``".jpg"``, ``"tif"``) to its canonical name.

    Returns:
        One of ``"png"``, ``"jpg"``, ``"webp"``, ``"bmp"``, ``"tiff"``, or ``None`` when unknown.
    """
    return _ALIASES.get(str(fmt).lower().lstrip("."))


def _prepare(img: np.ndarray, where: str) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise ImageWriteError(where, f"expected a numpy array, got {type(img).__name__}")
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageWriteError(
            where,
            f"the array is {img.dtype}; only uint8 and uint16 images can be written "
            "(convert floats in [0, 1] with (x * 255).round().astype(np.uint8) first)",
        )
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageWriteError(
            where, f"expected an HxW or HxWxC array with C in 1, 3, 4; got shape {img.shape}"
        )
    return img


def encode_image(img: np.ndarray, fmt: str, *, quality: int | None = None) -> bytes:
    """Encode an RGB(A) image to the bytes of an image file.

    Args:
        img: ``(H, W, C)`` (C in {1, 3, 4}; RGB(A) order) or ``(H, W)`` array, uint8 in [0, 255]
            or uint16 in [0, 65535].
        fmt: ``"png"``, ``"jpg"``/``"jpeg"``, ``"webp"``, ``"bmp"`` or ``"tiff"``/``"tif"``
            (case-insensitive, leading dot allowed).
        quality: 1-100 for JPEG (default 95) and WebP (default lossless; a value selects lossy);
            ignored by the lossless formats.

    Returns:
        The encoded file's bytes.

    Raises:
        ImageWriteError: Unknown format, unsupported array, bad quality, or the format cannot
            hold the image (alpha in JPEG, 16-bit in JPEG/WebP/BMP).
    """
    canon = normalize_format(fmt)
    where = f"<{fmt}>"
    if canon is None:
        raise ImageWriteError(
            where, f"unknown image format {fmt!r}; use one of {', '.join(WRITE_FORMATS)}"
        )
    img = _prepare(img, where)
    holds_alpha, holds_16 = WRITE_FORMATS[canon]
    c = img.shape[2]
    if c == 4 and not holds_alpha and canon != "bmp":
        raise ImageWriteError(
            where,
            f"{canon.upper()} cannot store an alpha channel; write PNG, TIFF or WebP "
            "(see ganedit.io.output_format_for)",
        )
    if img.dtype == np.uint16 and not holds_16:
        raise ImageWriteError(
            where,
            f"{canon.upper()} cannot store 16-bit samples; write PNG or TIFF "
            "(see ganedit.io.output_format_for)",
        )
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100
    ):
        raise ImageWriteError(
            where, f"quality must be a whole number from 1 to 100, got {quality!r}"
        )
    params: list[int] = []
    if canon == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, DEFAULT_JPEG_QUALITY if quality is None else quality]
    elif canon == "webp":
        if quality is None:  # lossless, keeping the colour under fully transparent pixels
            params = [
                cv2.IMWRITE_WEBP_QUALITY,
                101,
                cv2.IMWRITE_WEBP_LOSSLESS_MODE,
                cv2.IMWRITE_WEBP_LOSSLESS_PRESERVE_COLOR,
            ]
        else:
            params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    if c == 3:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif c == 4:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    else:
        bgr = np.ascontiguousarray(img)
    try:
        ok, buf = cv2.imencode("." + canon, bgr, params)
    except cv2.error as exc:
        raise ImageWriteError(where, f"OpenCV could not encode it ({exc})") from None
    if not ok:
        raise ImageWriteError(where, f"OpenCV could not encode a {img.shape} {img.dtype} image")
    return buf.tobytes()


_WRITE_REASONS: dict[type[OSError], str] = {
    IsADirectoryError: "a folder of that name is in the way",
    PermissionError: "permission denied (the folder is not writable)",
}


def write_image(
    path: str | os.PathLike[str], img: np.ndarray, *, quality: int | None = None
) -> Path:
    """Encode ``img`` in the format named by ``path``'s suffix and write it atomically.

    The folder is created if needed. The file appears complete or not at all: an error or a kill
    mid-write leaves no partial file (and no temp file on a Python-level error).

    Args:
        path: Target file; its suffix picks the format (``.png``, ``.jpg``, ``.webp``, ...).
        img: See :func:`encode_image`.
        quality: See :func:`encode_image`.

    Returns:
        ``Path(path)``.

    Raises:
        ImageWriteError: Unknown suffix, the image does not fit the format, or the file or its
            folder cannot be written (the message names the file and the reason).
    """
    p = Path(path)
    if normalize_format(p.suffix) is None:
        raise ImageWriteError(
            p,
            f"cannot tell the format from the suffix {p.suffix!r}; use one of "
            ".png, .jpg, .jpeg, .webp, .bmp, .tif, .tiff",
        )
    try:
        data = encode_image(img, p.suffix, quality=quality)
    except ImageWriteError as exc:
        raise ImageWriteError(p, exc.reason) from None
    try:
        with atomic_path(p) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise ImageWriteError(p, os_error_reason(exc, _WRITE_REASONS, "written")) from None
    return p


def output_format_for(
    src_ext: str, requested: str | None, *, has_alpha: bool, bit_depth: int
) -> tuple[str, str | None]:
    """Choose the output file suffix for an image, never losing alpha or 16-bit depth silently.

    The default is the input's own format (keeping its spelling, e.g. ``.JPG`` or ``.jpeg``);
    ``requested`` (the CLI's ``--format``) overrides it. When the chosen format cannot hold the
    image (alpha in JPEG or BMP, 16 bits in JPEG, WebP or BMP) the result is ``.png``, which holds
    everything losslessly, with a warning saying what changed and why. This applies to an explicit
    request too: asking for JPEG for an RGBA image still gives PNG plus a warning, because
    dropping the alpha channel is a loss the user may not notice. An input format we cannot write
    (e.g. GIF) also gives PNG, with a warning.

    Args:
        src_ext: The input file's suffix (``".jpg"``) or format name.
        requested: A format name or suffix, or ``None`` to keep the input's.
        has_alpha: The image to write has an alpha channel (C == 4).
        bit_depth: 8 or 16 (bits per sample of the image to write).

    Returns:
        ``(suffix, warning)``: suffix with a leading dot; warning is ``None`` when nothing changed.

    Raises:
        ValueError: ``requested`` names no format we can write.
    """
    if requested is not None:
        canon = normalize_format(requested)
        if canon is None:
            raise ValueError(
                f"unknown output format {requested!r}; use one of {', '.join(WRITE_FORMATS)}"
            )
        suffix = "." + str(requested).lower().lstrip(".")
        origin = f"the requested format {canon.upper()}"
    else:
        canon = normalize_format(src_ext)
        src = src_ext if str(src_ext).startswith(".") else "." + str(src_ext)
        if canon is None:
            return ".png", (
                f"cannot write the input's format {src!r}; writing PNG instead (lossless)"
            )
        suffix = src
        origin = f"the input's format {canon.upper()}"
    holds_alpha, holds_16 = WRITE_FORMATS[canon]
    lost = []
    if has_alpha and not holds_alpha:
        lost.append("an alpha channel")
    if bit_depth > 8 and not holds_16:
        lost.append(f"{bit_depth}-bit samples")
    if not lost:
        return suffix, None
    return ".png", (
        f"{origin} cannot store {' or '.join(lost)}; writing PNG instead so nothing is lost"
    )
