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


# --- hand-made files of the kinds other readers decode (issue 24) ---------------------------


def tiff_file(
    width: int,
    height: int,
    tags: dict[int, tuple[int, list[int]] | bytes],
    data: bytes,
    *,
    big: bool = False,
) -> bytes:
    """A little-endian single-strip TIFF (or BigTIFF) with ``tags`` ``{tag: (type, values)}``
    (a ``bytes`` value is an UNDEFINED field) and ``data`` as its one strip; ImageWidth,
    ImageLength, StripOffsets, RowsPerStrip and StripByteCounts are filled in."""
    import struct

    codes = {1: "B", 3: "H", 4: "I", 11: "f", 16: "Q", 7: "B"}
    entries = dict(tags)
    entries[256] = (4, [width])
    entries[257] = (4, [height])
    entries[278] = (4, [height])
    entries[279] = (4, [len(data)])
    entries[273] = (4, [0])  # patched below
    off_size, entry_size, head = (8, 20, 16) if big else (4, 12, 8)
    ifd_size = (8 if big else 2) + entry_size * len(entries) + off_size
    extra = bytearray()
    extra_at = head + ifd_size
    strip_at = None
    packed = {}
    for tag in sorted(entries):
        value = entries[tag]
        typ, vals = (7, list(value)) if isinstance(value, bytes) else value
        packed[tag] = (typ, len(vals), struct.pack("<" + codes[typ] * len(vals), *vals))
    total_extra = sum(len(b) + (len(b) & 1) for _, _, b in packed.values() if len(b) > off_size)
    strip_at = extra_at + total_extra
    packed[273] = (4, 1, struct.pack("<I", strip_at))
    out = bytearray(
        b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) if big else b"II*\x00\x08\x00\x00\x00"
    )
    out += struct.pack("<Q" if big else "<H", len(packed))
    for tag in sorted(packed):
        typ, count, raw = packed[tag]
        out += struct.pack("<HH", tag, typ) + struct.pack("<Q" if big else "<I", count)
        if len(raw) <= off_size:
            out += raw.ljust(off_size, b"\x00")
        else:
            out += struct.pack("<Q" if big else "<I", extra_at + len(extra))
            extra += raw + (b"\x00" if len(raw) & 1 else b"")
    out += b"\x00" * off_size
    out += extra
    assert len(out) == strip_at
    return bytes(out + data)


def bmp_file(
    width: int,
    height: int,
    bpp: int,
    rows: bytes,
    *,
    compression: int = 0,
    masks: tuple[int, ...] = (),
    header_size: int = 40,
    palette: bytes = b"",
    file_header: bool = True,
) -> bytes:
    """A bottom-up BMP (``rows``: the padded rows, bottom row first) with an info header of
    ``header_size`` bytes; ``masks`` (R, G, B[, A]) go inside a V3+ header or, for a 40-byte
    header, right after it. ``file_header=False`` gives a DIB (as in the clipboard)."""
    import struct

    info = struct.pack("<IiiHHIIiiII", header_size, width, height, 1, bpp, compression,
                       len(rows), 2835, 2835, len(palette) // 4, 0)  # fmt: skip
    if header_size > 40:
        body = b"".join(struct.pack("<I", m) for m in masks).ljust(header_size - 40, b"\x00")
        info += body[: header_size - 40]
    elif masks:
        info += b"".join(struct.pack("<I", m) for m in masks)
    dib = info + palette + rows
    if not file_header:
        return dib
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, offset) + dib
