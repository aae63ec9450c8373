"""Decoding image files into HxWxC RGB(A) uint8/uint16 arrays, with a pixel limit.

Always decodes from bytes with :func:`cv2.imdecode` (never ``cv2.imread`` on a path), so paths with
spaces and non-ASCII characters work on every platform; Pillow decodes the files OpenCV cannot
or misreads (BMP/DIB, GIF, some TIFFs, APNG, animated WebP: :mod:`ganedit.io.fallback`), under
the same rules, with a note.

What you get back from :func:`read_image` / :func:`decode_image`:

- shape ``(H, W, C)`` with ``C`` in {1, 3, 4}: gray is ``(H, W, 1)``, colour is RGB, colour with
  alpha is RGBA (gray+alpha becomes RGBA, since C=2 is not a layout we use);
- dtype ``uint8`` or ``uint16`` (16-bit PNG/TIFF keep their 16 bits);
- the orientation applied, from wherever the format keeps it, as Pillow reads it (EXIF in JPEG,
  WebP and PNG ``eXIf``, ImageMagick's raw EXIF text in PNG, else XMP ``tiff:Orientation``;
  the TIFF tag, applied by OpenCV's TIFF reader), so the array is upright as a viewer shows it;
- palette PNGs expanded to RGB, or RGBA when a ``tRNS`` chunk makes entries transparent; a gray PNG
  with a ``tRNS`` gray value becomes RGBA with that value transparent;
- CMYK JPEG/TIFF converted to RGB; low-bit samples expanded to the full range (2- and 4-bit
  gray, 5-5-5 / 5-6-5 BMP as ``v * 255 // max``, 12-bit TIFF to 16 bits); premultiplied TIFF
  alpha made straight;
- float images (e.g. 32-bit float TIFF) are taken to hold values in [0, 1]: NaN becomes 0, values
  are clipped to [0, 1] and scaled to uint16 (``round(v * 65535)``). Signed or 32-bit integer
  samples are kept as uint16 when every value is in 0-65535 and refused ("unsupported sample
  format") otherwise, rather than guessed at.

Damaged files: a JPEG whose scan ends early (cut short, then closed with an end marker) decodes
with the missing part filled in grey by libjpeg; that is refused ("cut short") unless
``accept_damaged`` is given, and then noted. A damaged header (an unknown PNG compression
method, a TIFF tile table that does not fit the image) is refused as corrupt; a well-formed
file in a variant no decoder here reads fails as "unsupported" naming what (compression,
sample format, BMP header). Formats ganedit cannot read (SVG, HEIC, AVIF, PDF,
PSD, ...) are named in the error. A file holding several frames or pages (animated GIF, PNG or
WebP, multi-page TIFF) gives its first one, with a note (:func:`decode_file`).

The pixel limit (default 178,956,970, Pillow's decompression-bomb error limit) is checked from the
header before any pixel is decoded. Formats whose header we cannot parse (anything other than
PNG, JPEG, WebP, BMP, TIFF, GIF, PNM) are checked right after decoding, OpenCV's own size guard
(2**30 pixels) bounding the memory spent until then.

OpenCV's own log lines ("can't read header", libtiff errors) are silenced when this module is
imported, since every failure is reported here with its reason; set ``OPENCV_LOG_LEVEL`` to
keep them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ganedit.io.errors import ImageReadError, os_error_reason
from ganedit.io.fallback import dib_as_bmp, pillow_decode, pillow_first, undecodable_reason
from ganedit.io.metadata import ImageMetadata, read_metadata
from ganedit.io.probe import ImageInfo, probe_image, sniff_format

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "DecodedImage",
    "apply_orientation",
    "decode_file",
    "decode_image",
    "get_max_pixels",
    "read_bytes",
    "read_image",
    "read_image_file",
    "set_max_pixels",
]

if "OPENCV_LOG_LEVEL" not in os.environ:  # each failure gets its reason from ganedit, once;
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # not OpenCV's log lines

DEFAULT_MAX_PIXELS = 178_956_970
MAX_PIXELS_ENV = "GANEDIT_MAX_PIXELS"

_max_pixels_override: int | None = None


def _check_limit(n: object, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{where} must be a positive whole number of pixels, got {n!r}")
    return n


def get_max_pixels() -> int:
    """Return the pixel limit: :func:`set_max_pixels`, else ``$GANEDIT_MAX_PIXELS``, else default.

    Raises:
        ValueError: ``GANEDIT_MAX_PIXELS`` is set but is not a positive integer.
    """
    if _max_pixels_override is not None:
        return _max_pixels_override
    env = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(
                f"{MAX_PIXELS_ENV} must be a positive whole number of pixels, got {env!r}"
            ) from None
        return _check_limit(value, MAX_PIXELS_ENV)
    return DEFAULT_MAX_PIXELS


def set_max_pixels(n: int | None) -> None:
    """Set the process-wide pixel limit; ``None`` goes back to the env variable or the default."""
    global _max_pixels_override
    _max_pixels_override = None if n is None else _check_limit(n, "max_pixels")


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an array stored with EXIF ``orientation`` (1-8) upright.

    Args:
        img: HxW or HxWxC array, any dtype.
        orientation: EXIF orientation tag value; 1 (or anything outside 2-8) leaves it unchanged.

    Returns:
        A C-contiguous array (H and W swapped for orientations 5-8).
    """
    if not 2 <= orientation <= 8:
        return img
    if orientation >= 5:  # 5-8: transposed, then flipped as 1-4 are
        img, orientation = img.swapaxes(0, 1), orientation - 4
    if orientation in (2, 3):
        img = img[:, ::-1]  # left-right
    if orientation in (3, 4):
        img = img[::-1]  # top-bottom
    return np.ascontiguousarray(img)


def _limit_message(w: int, h: int, limit: int) -> str:
    return (
        f"{w}x{h} is {w * h:,} pixels, over the limit of {limit:,} pixels "
        f"(a guard against decompression bombs; raise it with max_pixels=, "
        f"ganedit.io.set_max_pixels() or {MAX_PIXELS_ENV})"
    )


def _to_supported_dtype(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype in (np.uint8, np.uint16):
        return img
    if img.dtype.kind == "f":
        img = np.nan_to_num(img.astype(np.float64, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
        return np.rint(np.clip(img, 0.0, 1.0) * 65535.0).astype(np.uint16)
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    raise ImageReadError(
        name,
        f"unsupported sample format: its samples are {img.dtype} ({img.dtype.itemsize * 8}-bit "
        f"{'signed' if img.dtype.kind == 'i' else 'unsigned'} integers); only unsigned 8- and "
        "16-bit images (and float images in [0, 1]) are supported",
    )


def _to_rgb_layout(img: np.ndarray, info: ImageInfo) -> np.ndarray:
    if img.ndim == 2:
        img = img[:, :, None]
    c = img.shape[2]
    if c == 1:
        if info.gray_trns is not None and info.bit_depth:
            scale = 1 if info.bit_depth >= 8 else 255 // ((1 << info.bit_depth) - 1)
            # a value out of the bit depth's range is taken as an 8-bit one, as Pillow does
            key = info.gray_trns * scale if info.gray_trns < 1 << info.bit_depth else info.gray_trns
            top = np.iinfo(img.dtype).max
            alpha = np.where(img[:, :, 0] == key, 0, top).astype(img.dtype)
            return np.dstack([img, img, img, alpha])
        return img
    if c == 2:  # gray + alpha
        return np.dstack([img[:, :, :1], img[:, :, :1], img[:, :, :1], img[:, :, 1:]])
    if c == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if c == 4:
        if info.cmyk and info.format == "tiff":  # OpenCV gives BGRA with a filler alpha
            top = np.iinfo(img.dtype).max
            if bool((img[:, :, 3] == top).all()):
                return cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_BGR2RGB)
        if info.format == "tiff" and info.photometric == 2 and info.extra_sample == 0:
            return cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_BGR2RGB)  # no alpha
        if info.format == "tiff" and info.extra_sample == 1:  # premultiplied: made straight
            img = _unpremultiply(img)
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    raise ValueError(f"{c} channels")


def _unpremultiply(img: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` premultiplied -> straight alpha: ``c * top // a`` (clipped; 0 where
    ``a`` is 0), Pillow's rule for TIFFs with associated alpha."""
    top = np.iinfo(img.dtype).max
    a = img[:, :, 3:].astype(np.int64)
    rgb = np.where(a > 0, np.minimum(img[:, :, :3] * np.int64(top) // np.maximum(a, 1), top), 0)
    return np.dstack([rgb.astype(img.dtype), img[:, :, 3:]])


@dataclass
class DecodedImage:
    """One decoded file (:func:`decode_file`, :func:`read_image_file`).

    Attributes:
        pixels: ``(H, W, C)`` uint8/uint16 RGB(A), upright (module docstring).
        info: what the header said (format, stored size...).
        notes: remarks for the file's record (first frame only, damage accepted...).
        metadata: the ICC profile and EXIF to carry to the output, or ``None``.
    """

    pixels: np.ndarray
    info: ImageInfo
    notes: list[str] = field(default_factory=list)
    metadata: ImageMetadata | None = None


def decode_image(
    data: bytes, *, name: str = "<bytes>", max_pixels: int | None = None
) -> np.ndarray:
    """Decode an encoded image (PNG, JPEG, WebP, BMP, TIFF, ...) from memory.

    Args:
        data: The encoded file's bytes.
        name: Used in error messages (pass the file's path).
        max_pixels: Refuse images with more pixels than this; ``None`` uses
            :func:`get_max_pixels`.

    Returns:
        ``(H, W, C)`` uint8 or uint16 array, C in {1, 3, 4}, RGB(A), upright (see module doc).

    Raises:
        ImageReadError: Empty, cut short (also a JPEG the decoder had to fill in), not an
            image, over the pixel limit, or undecodable.
    """
    return decode_file(data, name=name, max_pixels=max_pixels, metadata=False).pixels


def decode_file(
    data: bytes,
    *,
    name: str = "<bytes>",
    max_pixels: int | None = None,
    accept_damaged: bool = False,
    metadata: bool = True,
) -> DecodedImage:
    """Like :func:`decode_image`, with the notes and metadata of the file.

    Args:
        data: The encoded file's bytes.
        name: Used in error messages.
        max_pixels: as in :func:`decode_image`.
        accept_damaged: keep a JPEG the decoder had to fill in (with a note) instead of
            refusing it.
        metadata: also read the ICC profile and EXIF (:mod:`ganedit.io.metadata`).

    Raises:
        ImageReadError: as :func:`decode_image`.
    """
    limit = get_max_pixels() if max_pixels is None else _check_limit(max_pixels, "max_pixels")
    if len(data) == 0:
        raise ImageReadError(name, "the file is empty (0 bytes)")
    notes = []
    if sniff_format(data) == "unknown" and (bmp := dib_as_bmp(data)) is not None:
        data = bmp  # a DIB without its file header (clipboard style): read as the BMP it is
        notes.append("a DIB without a file header (read as BMP)")
    info = probe_image(data, name)
    if info.truncated:
        raise ImageReadError(name, info.truncated)
    if info.damaged:
        raise ImageReadError(name, f"the {info.format.upper()} is corrupt: {info.damaged}")
    if info.pixels > limit:
        raise ImageReadError(name, _limit_message(info.width, info.height, limit))
    buf = np.frombuffer(data, dtype=np.uint8)
    why = pillow_first(data, info)
    img = None if why else _imdecode(buf, name)
    if img is None or img.size == 0:
        if info.format == "unknown":
            raise ImageReadError(name, undecodable_reason(data, info))
        img, note = pillow_decode(data, info, name, limit, why or "OpenCV could not decode it")
        if why not in ("bmp", "gif"):
            notes.append(note)
    h, w = img.shape[:2]
    if h * w > limit:
        raise ImageReadError(name, _limit_message(w, h, limit))
    pillow = why is not None or bool(notes and notes[-1].startswith("decoded with Pillow"))
    if info.format == "jpg" and not pillow and _jpeg_damaged(data, buf, img):
        reason = (
            "the JPEG is cut short: its image data ends early and the decoder had to make up "
            "the rest (grey or blurred)"
        )
        if not accept_damaged:
            raise ImageReadError(
                name, reason + " (accept it with accept_damaged / --accept-damaged)"
            )
        notes.append(reason + "; accepted (accept_damaged)")
    frames = _frame_count(data, info.format)
    if frames > 1:
        notes.append(f"it holds {frames} frames or pages; only the first one is used")
    img = _to_supported_dtype(img, name)
    if not pillow:  # Pillow's arrays are RGB(A) already
        img = _to_rgb_layout(img, info)
    if pillow or info.format in ("jpg", "png", "webp"):  # OpenCV turns TIFFs upright itself
        img = apply_orientation(img, info.orientation)
    meta = read_metadata(data) if metadata else None
    return DecodedImage(np.ascontiguousarray(img), info, notes, meta)


def _imdecode(buf: np.ndarray, name: str) -> np.ndarray | None:
    """OpenCV's decode, or ``None`` when it cannot (Pillow is tried next)."""
    del name
    try:
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None


def _grey_tail(img: np.ndarray) -> bool:
    """True when the last 8x8 block of a decoded baseline JPEG is exactly mid-grey (128):
    what libjpeg gives for blocks it had no data for."""
    h, w = img.shape[:2]
    block = img[((h - 1) // 8) * 8 :, ((w - 1) // 8) * 8 :]
    return img.dtype == np.uint8 and bool((block == 128).all())


def _jpeg_damaged(data: bytes, buf: np.ndarray, img: np.ndarray) -> bool:
    """True when libjpeg had to make up part of the decoded ``img`` (a scan cut short)."""
    grey = _grey_tail(img)
    return (grey or _progressive(data)) and _jpeg_decoder_complains(buf, grey)


def _progressive(data: bytes) -> bool:
    """True for a progressive JPEG (SOF2/6/10/14 before the first scan): one cut short
    keeps a blurred picture rather than grey blocks, so only the decoder can tell."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: no frame header said progressive
            return False
        if marker in (0xC2, 0xC6, 0xCA, 0xCE):
            return True
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False


_STDERR_LOCK = threading.Lock()
_LIBJPEG_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file")


def _jpeg_decoder_complains(buf: np.ndarray, fallback: bool) -> bool:
    """Decode again with the process's stderr captured: did libjpeg warn that it had to
    invent data? (Only called for a progressive JPEG, or the rare baseline one whose last
    block is exactly grey; ``fallback`` is the answer when stderr cannot be captured.)"""
    with _STDERR_LOCK:
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to borrow: the grey-tail evidence alone decides
            return fallback
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
    others = [ln for ln in text.splitlines() if not any(w in ln for w in _LIBJPEG_WARNINGS)]
    if others:  # another thread wrote to stderr meanwhile: pass it on
        sys.stderr.write("\n".join(others) + "\n")
    return any(
        w in ln and "extraneous bytes" not in ln  # junk before a marker is skipped, not made up
        for ln in text.splitlines()
        for w in _LIBJPEG_WARNINGS
    )


def _frame_count(data: bytes, fmt: str) -> int:
    """Frames or pages in an animated or multi-page file (1 when there is only one, or the
    format cannot hold several)."""
    if fmt == "png" and b"acTL" not in data[: data.find(b"IDAT") if b"IDAT" in data else None]:
        return 1
    if fmt == "webp" and not (data[12:16] == b"VP8X" and data[20] & 0x02):
        return 1
    if fmt not in ("png", "webp", "gif", "tiff"):
        return 1
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001 - a note only
        return 1


_READ_REASONS: dict[type[OSError], str] = {
    FileNotFoundError: "no such file",
    IsADirectoryError: "it is a folder, not a file",
    PermissionError: "permission denied (the file is not readable)",
}


def read_bytes(p: Path) -> bytes:
    """The bytes of file ``p``; :class:`ImageReadError` saying why it cannot be read."""
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ImageReadError(p, os_error_reason(exc, _READ_REASONS, "read")) from None


def read_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file into an ``(H, W, C)`` RGB(A) uint8/uint16 array.

    Args:
        path: The file. Any characters (spaces, non-ASCII, bytes that are not UTF-8) are fine.
        max_pixels: Pixel limit for this call; ``None`` uses :func:`get_max_pixels`.

    Returns:
        See :func:`decode_image`.

    Raises:
        ImageReadError: Missing, a folder, unreadable, empty, cut short, not an image, over the
            pixel limit, or undecodable; the message names the file and the reason.
    """
    return read_image_file(path, max_pixels=max_pixels, metadata=False).pixels


def read_image_file(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    accept_damaged: bool = False,
    metadata: bool = True,
) -> DecodedImage:
    """Read an image file with its notes and metadata (:func:`decode_file`).

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    p = Path(path)
    data = read_bytes(p)
    try:
        return decode_file(
            data,
            name=str(p),
            max_pixels=max_pixels,
            accept_damaged=accept_damaged,
            metadata=metadata,
        )
    except ImageReadError as exc:  # same message, but ``.path`` is the Path the caller gave
        raise ImageReadError(p, exc.reason) from None
