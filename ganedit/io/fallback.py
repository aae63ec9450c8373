"""Decoding with Pillow where OpenCV cannot, or reads a file other than the format says.

:func:`~ganedit.io.decode.decode_file` asks OpenCV first. Pillow decodes instead:

- every BMP and DIB: Pillow follows the header (BI_BITFIELDS masks, an alpha mask only when
  the header has one, 16-bit 5-5-5 / 5-6-5 samples expanded to the full range as
  ``v * 255 // max``, so white stays 255), where OpenCV takes a 32-bit file's padding byte for
  alpha and shifts 16-bit samples (white becomes 248). A header Pillow does not support is
  refused ("unsupported"), never guessed at;
- every GIF (OpenCV's reader gets transparency wrong for some: alpha where the file has none
  and none where it has a transparent index);
- a palette TIFF with an alpha sample (OpenCV drops the alpha) and an animated WebP (its first
  frame, with its alpha);
- any file OpenCV cannot decode (2- and 4-bit gray TIFF, TIFF compressions or CMYK layouts
  OpenCV's libtiff lacks, an APNG whose first frame OpenCV refuses, ...), with a note.

The same rules hold as for OpenCV: the pixel limit is checked before any pixel is decoded,
the result is ``(H, W, C)`` uint8/uint16 RGB(A) with C in {1, 3, 4} (gray kept, alpha exactly
when the file has it, ``tRNS`` included), the orientation applied by the caller. Samples that
are signed integers or 32-bit integers are refused as an unsupported sample format (a
conversion would have to guess their range); float samples follow the float rule of
:mod:`ganedit.io.decode`.
"""

from __future__ import annotations

import io
import re
import struct
import warnings

import numpy as np

from ganedit.io.errors import ImageReadError
from ganedit.io.probe import ImageInfo

# Pillow's remarks on the files it reads ("Corrupt EXIF data", "Invalid APNG", a decompression
# bomb warning) are not printed: every file's record says what matters, and our pixel limit
# decides. A filter, not warnings.catch_warnings(), which is not safe in the decode threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
warnings.filterwarnings("ignore", message="Image size .* could be decompression bomb")

__all__ = [
    "dib_as_bmp",
    "pillow_decode",
    "pillow_first",
    "undecodable_reason",
    "unsupported_reason",
]

#: TIFF compression codes by name, for messages.
TIFF_COMPRESSION = {
    1: "none", 2: "CCITT RLE", 3: "CCITT Group 3", 4: "CCITT Group 4", 5: "LZW",
    6: "old-style JPEG", 7: "JPEG", 8: "Deflate", 32773: "PackBits", 32946: "Deflate",
    34661: "JBIG", 34676: "SGILog", 34677: "SGILog24", 34712: "JPEG 2000", 34887: "LERC",
    34925: "LZMA", 50000: "Zstandard", 50001: "WebP", 50002: "JPEG XL",
}  # fmt: skip
_SAMPLE_FORMAT = {2: "signed integers", 3: "floating point", 4: "untyped data",
                  5: "complex integers", 6: "complex floating point"}  # fmt: skip


def dib_as_bmp(data: bytes) -> bytes | None:
    """A DIB without its 14-byte file header (as on the clipboard) given one, or ``None`` when
    ``data`` does not start like a BITMAPINFOHEADER (sizes 12, 40, 52, 56, 64, 108, 124)."""
    if len(data) < 16:
        return None
    (size,) = struct.unpack("<I", data[:4])
    if size not in (12, 40, 52, 56, 64, 108, 124) or len(data) < size:
        return None
    if size == 12:
        planes, bpp = struct.unpack("<HH", data[8:12])
        colours, compression = 0, 0
    else:
        planes, bpp, compression = struct.unpack("<HHI", data[12:20])
        (colours,) = struct.unpack("<I", data[32:36])
    if planes != 1 or bpp not in (1, 2, 4, 8, 16, 24, 32):
        return None
    entry = 3 if size == 12 else 4
    palette = (colours or (1 << bpp)) * entry if bpp <= 8 else 0
    masks = 12 if size == 40 and compression == 3 else 16 if size == 40 and compression == 6 else 0
    offset = 14 + size + masks + palette
    return b"BM" + struct.pack("<IHHI", 14 + len(data), 0, 0, offset) + data


def pillow_first(data: bytes, info: ImageInfo) -> str | None:
    """Why Pillow, not OpenCV, decodes this file (``None``: OpenCV first)."""
    if info.format in ("bmp", "gif"):  # the formats Pillow reads by the book: no note
        return info.format
    if info.format == "tiff":
        if info.photometric == 3 and info.samples > 1:
            return "a palette TIFF with alpha"
        if info.sample_format == 2:
            return "signed samples"
        if info.samples in (2, 4, 5) and (info.bit_depth or 8) <= 8 and info.photometric != 5:
            # libtiff's RGBA path, which OpenCV takes for some layouts, premultiplies alpha
            return "an 8-bit TIFF with alpha"
        if info.planar and (info.bit_depth or 8) > 8:
            return "a 16-bit TIFF in separate planes, which OpenCV misreads; read at 8 bits"
    if info.format == "webp" and data[12:16] == b"VP8X" and data[20] & 0x02:
        return "an animated WebP"
    if info.format == "png" and _apng_default_image_apart(data):
        return "an animated PNG whose first frame is not its default image"
    return None


def _apng_default_image_apart(data: bytes) -> bool:
    """True for an APNG whose IDAT image is not part of the animation (no ``fcTL`` before the
    first ``IDAT``): its first frame is the first ``fdAT`` one, which Pillow decodes."""
    idat = data.find(b"IDAT")
    head = data[: idat if idat >= 0 else None]
    return b"acTL" in head and b"fcTL" not in head


def _open(data: bytes, info: ImageInfo, name: str):  # noqa: ANN202 - a PIL.Image.Image
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        what = f"{int(claimed.group(1)):,} pixels" if claimed else "more pixels"
        top = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImageReadError(
            name, f"its header claims {what}, over Pillow's limit of {top:,}"
        ) from None
    except UnidentifiedImageError:
        raise ImageReadError(
            name, unsupported_reason(data, info, "neither OpenCV nor Pillow recognises it")
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError) as exc:
        raise ImageReadError(name, unsupported_reason(data, info, str(exc))) from None


def _to_array(im, info: ImageInfo, name: str) -> np.ndarray:  # noqa: ANN001
    """A loaded Pillow image as ``(H, W, C)`` uint8/uint16 (float32 for ``F``) RGB(A)."""
    mode = im.mode
    transparent = "transparency" in im.info
    if mode in ("1", "L") and not transparent:
        return np.asarray(im.convert("L"))[:, :, None]
    if mode.startswith("I;16") and not mode.endswith("S") and not transparent:
        return np.asarray(im).astype(np.uint16)[:, :, None]
    if mode == "I" or mode.startswith("I;"):  # wider or signed integers: kept if 16-bit
        arr = np.asarray(im)
        if arr.size and 0 <= int(arr.min()) and int(arr.max()) <= 65535:
            gray = arr.astype(np.uint16)
            key = im.info.get("transparency")
            if isinstance(key, int):  # a 16-bit gray tRNS value: RGBA with it transparent
                alpha = np.where(gray == key, 0, 65535).astype(np.uint16)
                return np.dstack([gray, gray, gray, alpha])
            return gray[:, :, None]
        what = (
            "signed integers with negative values"
            if arr.size and arr.min() < 0
            else ("integers above 65535")
        )
        raise ImageReadError(
            name, f"unsupported sample format: {info.bit_depth}-bit samples that are {what}"
        )
    if mode == "F":
        return np.asarray(im, dtype=np.float32)[:, :, None]
    if mode in ("RGB", "RGBA") and not (mode == "RGB" and transparent):
        return np.asarray(im)
    has_alpha = (
        transparent
        or mode in ("LA", "La", "PA", "RGBa", "RGBA")
        or (mode == "P" and im.palette is not None and im.palette.mode == "RGBA")
    )
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))


def pillow_decode(
    data: bytes, info: ImageInfo, name: str, limit: int, why: str
) -> tuple[np.ndarray, str]:
    """Decode ``data`` with Pillow (its first frame): ``(pixels, note)``.

    Args:
        data: the file's bytes.
        info: what :func:`~ganedit.io.probe.probe_image` read from the header.
        name: for messages.
        limit: the pixel limit, checked on Pillow's header size before decoding.
        why: why Pillow decodes it (for the note).

    Returns:
        ``(H, W, C)`` uint8/uint16 RGB(A) (float32 gray for float samples), not yet turned
        upright; and the note for the file's record.

    Raises:
        ImageReadError: Pillow cannot read it either (the reason says "unsupported" and
            what, or "corrupt"), or it is over ``limit``.
    """
    im = _open(data, info, name)
    with im:
        w, h = im.size
        if w * h > limit:
            from ganedit.io.decode import _limit_message

            raise ImageReadError(name, _limit_message(w, h, limit))
        try:
            im.seek(0)
            im.load()
        except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError) as exc:
            raise ImageReadError(name, unsupported_reason(data, info, str(exc))) from None
        try:
            arr = _to_array(im, info, name)
        except ImageReadError:
            raise
        except (OSError, ValueError, KeyError) as exc:  # a mode Pillow cannot convert
            raise ImageReadError(
                name, f"unsupported {info.format.upper()} variant: {exc}"
            ) from None
    return arr, f"decoded with Pillow ({why})"


def _tiff_problem(info: ImageInfo) -> str | None:
    if info.compression not in (None, *TIFF_COMPRESSION) or info.compression in (34661, 34712):
        what = TIFF_COMPRESSION.get(info.compression or 0, f"code {info.compression}")
        return f"unsupported TIFF compression ({what})"
    fmt = info.sample_format
    if fmt in _SAMPLE_FORMAT and not (fmt == 3 and info.bit_depth in (32, 64)):
        return f"unsupported sample format: {info.bit_depth}-bit {_SAMPLE_FORMAT[fmt]}"
    if info.bit_depth not in (None, 1, 2, 4, 8, 16, 32):
        return f"unsupported sample format: {info.bit_depth}-bit samples"
    return None


_UNSUPPORTED_WORDS = ("unsupported", "not supported", "unknown", "not available", "cannot handle")


def _bmp_problem(data: bytes) -> str | None:
    """What makes a BMP unreadable, from its header (``None``: nothing found)."""
    try:
        (size,) = struct.unpack("<I", data[14:18])
        if size not in (12, 40, 52, 56, 64, 108, 124):
            return f"unsupported BMP header ({size} bytes; BMP headers are 12, 40, 52 to 124)"
        if size == 12:
            return None
        bpp, compression = struct.unpack("<HI", data[28:34])
        (colours,) = struct.unpack("<I", data[46:50])
    except struct.error:
        return None
    if compression in (4, 5):
        return f"unsupported BMP compression: an embedded {('JPEG', 'PNG')[compression - 4]}"
    if bpp not in (1, 2, 4, 8, 16, 24, 32):
        return f"the BMP is corrupt: {bpp} bits per pixel"
    if bpp <= 8 and colours > 1 << bpp:
        return f"the BMP is corrupt: {colours} palette entries for {bpp}-bit pixels"
    return None


def unsupported_reason(data: bytes, info: ImageInfo, pillow_error: str) -> str:
    """The reason for a file neither OpenCV nor Pillow decodes: "unsupported ..." naming what
    (compression, sample format, header) where the file is well formed, else "corrupt"."""
    problem = _tiff_problem(info) if info.format == "tiff" else None
    if info.format == "bmp":
        problem = _bmp_problem(data)
    if problem:
        return problem
    fmt = info.format.upper()
    text = pillow_error.strip().rstrip(".") or "no reason given"
    if any(word in text.lower() for word in _UNSUPPORTED_WORDS):
        return f"unsupported {fmt} variant: {text}"
    return f"it looks like {fmt} but could not be decoded (corrupt file: {text})"


#: Formats recognised by their first bytes that ganedit cannot read, for the error message.
_FOREIGN = (
    (b"%PDF", "a PDF document"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    (b"v/1\x01", "an OpenEXR image"),
)
_FTYP = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


def _foreign_format(data: bytes) -> str | None:
    """What a file ganedit cannot read looks like (``None``: nothing recognisable)."""
    if data[4:8] == b"ftyp":
        kind = _FTYP.get(data[8:12])
        return f"a {kind} image" if kind else "an ISO media (MP4/HEIF-style) file"
    for magic, what in _FOREIGN:
        if data.startswith(magic):
            return what
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "an SVG drawing (a vector format)"
    return None


def undecodable_reason(data: bytes, info: ImageInfo) -> str:
    """Why a file no decoder reads cannot be read: the foreign format it is, or not an image."""
    if info.format == "unknown":
        foreign = _foreign_format(data)
        if foreign:
            return (
                f"it is {foreign}, a format ganedit cannot read (it reads PNG, JPEG, WebP, "
                "BMP, TIFF, GIF and PNM); convert it first"
            )
        head = data[:16]
        kind = "text" if _looks_like_text(data[:512]) else "binary data"
        return (
            f"it is not an image: the contents ({kind}, starting {head!r}) do not match "
            "any supported image format"
        )
    return f"it looks like {info.format.upper()} but could not be decoded (corrupt file)"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
