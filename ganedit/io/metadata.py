"""Colour profile (ICC) and EXIF of an image file: read from the input, written to the output.

Pixels are always decoded and encoded by OpenCV; only the metadata goes through Pillow (read:
:func:`read_metadata`, EXIF serialised with ``PIL.Image.Exif``) and is spliced into the bytes
OpenCV encoded (:func:`embed_metadata`):

* PNG: ``iCCP`` and ``eXIf`` chunks after ``IHDR``;
* JPEG: an ``APP1`` Exif segment and ``APP2`` ``ICC_PROFILE`` segments after the JFIF header;
* WebP: the file becomes the extended format (``VP8X``) with ``ICCP`` and ``EXIF`` chunks.

TIFF and BMP outputs do not keep them (OpenCV writes the TIFF tags itself and BMP has no place
for EXIF); :func:`metadata_note` says so. The EXIF orientation tag is removed, as reading
already turned the pixels upright, and EXIF's pixel dimensions are set to the output's.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

__all__ = ["KEEPS_METADATA", "ImageMetadata", "embed_metadata", "metadata_note", "read_metadata"]

#: Output formats whose files get the input's ICC profile and EXIF.
KEEPS_METADATA = frozenset({"png", "jpg", "webp"})
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003


@dataclass(frozen=True)
class ImageMetadata:
    """What is carried from an input file to its output.

    Attributes:
        icc: the ICC colour profile's bytes, or ``None``.
        exif: the EXIF block (a TIFF structure, without the ``Exif\\0\\0`` header), its
            orientation tag removed, or ``None``.
    """

    icc: bytes | None = None
    exif: bytes | None = None

    def __bool__(self) -> bool:
        return bool(self.icc or self.exif)


def read_metadata(data: bytes) -> ImageMetadata | None:
    """The ICC profile and EXIF of an encoded image (``None`` when it has neither, or Pillow
    cannot read its header). Only the header is parsed; no pixel is decoded."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            icc = im.info.get("icc_profile") or None
            raw = None
            # a TIFF's first IFD is its own structure (size, strips...), not camera EXIF
            exif = Image.Exif() if im.format == "TIFF" else im.getexif()
            if len(exif) or exif.get_ifd(_EXIF_IFD):
                exif.pop(_ORIENTATION, None)
                raw = _strip_header(exif.tobytes())
    except Exception:  # noqa: BLE001 - metadata is a courtesy; the pixels decide success
        return None
    meta = ImageMetadata(icc if isinstance(icc, bytes) else None, raw or None)
    return meta or None


def _strip_header(exif: bytes) -> bytes:
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def _resized_exif(exif: bytes, width: int, height: int) -> bytes:
    """``exif`` with its pixel dimensions set to ``width`` x ``height``."""
    try:
        from PIL import Image

        block = Image.Exif()
        block.load(b"Exif\x00\x00" + exif)
        sub = block.get_ifd(_EXIF_IFD)
        if _PIXEL_X in sub or _PIXEL_Y in sub:
            sub[_PIXEL_X], sub[_PIXEL_Y] = width, height
        return _strip_header(block.tobytes())
    except Exception:  # noqa: BLE001
        return exif


def metadata_note(fmt: str, meta: ImageMetadata | None) -> str | None:
    """Why ``meta`` is not kept in a ``fmt`` output (``None`` when it is, or there is none)."""
    if not meta or fmt in KEEPS_METADATA:
        return None
    what = " and ".join(n for n, v in (("colour profile", meta.icc), ("EXIF", meta.exif)) if v)
    return f"the input's {what} cannot be kept in a {fmt.upper()} output (PNG, JPEG, WebP keep it)"


def embed_metadata(
    encoded: bytes, fmt: str, meta: ImageMetadata | None, size: tuple[int, int]
) -> bytes:
    """Splice ``meta`` into the bytes of an encoded image (module docstring).

    Args:
        encoded: the file's bytes as OpenCV wrote them.
        fmt: the canonical format (``"png"``, ``"jpg"``, ``"webp"``; others are returned as is).
        meta: what to carry, or ``None``.
        size: ``(width, height)`` of the image, for the EXIF pixel dimensions and WebP's canvas.
    """
    if not meta:
        return encoded
    exif = None if meta.exif is None else _resized_exif(meta.exif, *size)
    if fmt == "png":
        return _png(encoded, meta.icc, exif)
    if fmt == "jpg":
        return _jpeg(encoded, meta.icc, exif)
    if fmt == "webp":
        return _webp(encoded, meta.icc, exif, size)
    return encoded


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png(data: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    end_ihdr = 8 + 8 + 13 + 4
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif)
    return data[:end_ihdr] + extra + data[end_ihdr:]


def _jpeg(data: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    pos = 2
    if data[2:4] == b"\xff\xe0":  # keep the JFIF header first
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    segs = b""
    if exif and len(exif) + 8 <= 0xFFFF:
        body = b"Exif\x00\x00" + exif
        segs += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    if icc:
        step = 0xFFFF - 2 - 14
        parts = [icc[i : i + step] for i in range(0, len(icc), step)]
        if len(parts) <= 255:
            for n, part in enumerate(parts, 1):
                body = b"ICC_PROFILE\x00" + bytes([n, len(parts)]) + part
                segs += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return data[:pos] + segs + data[pos:]


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def _webp(data: bytes, icc: bytes | None, exif: bytes | None, size: tuple[int, int]) -> bytes:
    chunks = []
    pos, has_alpha = 12, False
    while pos + 8 <= len(data):
        kind, n = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append((kind, data[pos + 8 : pos + 8 + n]))
        pos += 8 + n + (n % 2)
    kinds = [k for k, _ in chunks]
    if b"VP8X" in kinds or b"ANIM" in kinds:
        return data  # already extended: leave it as OpenCV wrote it
    for kind, body in chunks:
        if kind == b"VP8L" and len(body) >= 5:
            has_alpha = bool((body[4] >> 4) & 1)  # the alpha_is_used bit
        has_alpha = has_alpha or kind == b"ALPH"
    w, h = size
    flags = (0x20 if icc else 0) | (0x10 if has_alpha else 0) | (0x08 if exif else 0)
    vp8x = bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    out = _riff_chunk(b"VP8X", vp8x)
    if icc:
        out += _riff_chunk(b"ICCP", icc)
    out += b"".join(_riff_chunk(k, b) for k, b in chunks)
    if exif:
        out += _riff_chunk(b"EXIF", exif)
    return b"RIFF" + struct.pack("<I", 4 + len(out)) + b"WEBP" + out
