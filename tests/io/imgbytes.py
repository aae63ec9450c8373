"""Hand-made image file bytes for the I/O tests (no Pillow): PNG chunks, EXIF, TIFF, CMYK."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np


def chunk(ctype: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC."""
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def png(
    width: int,
    height: int,
    bit_depth: int,
    color_type: int,
    rows: list[bytes],
    extra: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    *,
    iend: bool = True,
) -> bytes:
    """A PNG with filter-0 ``rows`` (raw scanline bytes) and ``extra`` chunks before IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    out += b"".join(chunk(t, b) for t, b in extra)
    out += chunk(b"IDAT", zlib.compress(raw))
    if iend:
        out += chunk(b"IEND", b"")
    return out


def exif_tiff(orientation: int, *, little_endian: bool = True) -> bytes:
    """A minimal EXIF TIFF block with only the Orientation tag (274)."""
    e = "<" if little_endian else ">"
    head = b"II*\x00" if little_endian else b"MM\x00*"
    entry = struct.pack(e + "HHIHH", 274, 3, 1, orientation, 0)
    return (
        head + struct.pack(e + "I", 8) + struct.pack(e + "H", 1) + entry + struct.pack(e + "I", 0)
    )


def jpeg_with_exif(jpeg: bytes, orientation: int, *, little_endian: bool = True) -> bytes:
    """Insert an APP1 Exif segment carrying ``orientation`` right after SOI."""
    body = b"Exif\x00\x00" + exif_tiff(orientation, little_endian=little_endian)
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + app1 + jpeg[2:]


def png_with_exif(png_bytes: bytes, orientation: int) -> bytes:
    """Insert an eXIf chunk carrying ``orientation`` right after IHDR."""
    at = 8 + 25
    return png_bytes[:at] + chunk(b"eXIf", exif_tiff(orientation)) + png_bytes[at:]


def tiff(
    pixels: np.ndarray,
    *,
    photometric: int,
    orientation: int | None = None,
    extra_samples: int | None = None,
) -> bytes:
    """An uncompressed little-endian single-strip TIFF of ``pixels`` (HxWxS uint8/uint16)."""
    h, w, s = pixels.shape
    bits = pixels.dtype.itemsize * 8
    data = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, value bytes

    def short(tag: int, *vals: int) -> None:
        entries.append((tag, 3, len(vals), struct.pack("<" + "H" * len(vals), *vals)))

    def long(tag: int, *vals: int) -> None:
        entries.append((tag, 4, len(vals), struct.pack("<" + "I" * len(vals), *vals)))

    n_entries = 10 + (orientation is not None) + (extra_samples is not None)
    ifd_size = 2 + 12 * n_entries + 4
    bits_off = 8 + ifd_size
    data_off = bits_off + 2 * s
    long(256, w)
    long(257, h)
    short(258, *([bits] * s))
    short(259, 1)
    short(262, photometric)
    long(273, data_off)
    if orientation is not None:
        short(274, orientation)
    short(277, s)
    long(278, h)
    long(279, len(data))
    if extra_samples is not None:
        short(338, extra_samples)
    short(284, 1)
    entries.sort()
    assert len(entries) == n_entries
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    extra = b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            out += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")
        else:  # only BitsPerSample can be longer than 4 bytes here
            out += struct.pack("<HHII", tag, typ, count, bits_off)
            extra = value
    out += struct.pack("<I", 0)
    assert len(out) == bits_off
    out += extra.ljust(2 * s, b"\x00")
    assert len(out) == data_off
    return out + data


#: A 16x16 CMYK JPEG (Adobe APP14, as Photoshop writes them): top half C=0 M=255 Y=255 K=0 (red),
#: bottom half C=255 M=255 Y=0 K=0 (blue). Made once with Pillow's JPEG encoder (which stores
#: inverted CMYK, as Photoshop does); kept as bytes so the tests do not need Pillow.
CMYK_JPEG = base64.b64decode(
    "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAW"
    "EBETFBUVFQwPFxgWFBgSFBUU/8AAFAgAEAAQBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYH"
    "CAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBka"
    "JSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeo"
    "qaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD9U6/K"
    "qvyqr9U6KKKK/lXor+qiiiiiiv/Z"
)


def smooth_image(h: int, w: int, c: int, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """A smooth test picture (gradients plus blobs) that lossy codecs keep well."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(c):
        fy, fx, ph = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 6.28)
        v = 0.5 + 0.4 * np.sin(2 * np.pi * (fy * yy / h + fx * xx / w) + ph)
        chans.append(v)
    img = np.stack(chans, axis=-1)
    top = np.iinfo(dtype).max
    return np.rint(img * top).astype(dtype)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two same-shape integer images, relative to their dtype's range."""
    top = float(np.iinfo(a.dtype).max)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(top * top / mse)
