"""Header-only inspection of image bytes: size, format, EXIF orientation, truncation.

Nothing here decodes pixels, so a file whose header claims 100000x100000 pixels is refused before
any memory is spent on it. Parsed by hand: PNG (IHDR, tRNS, eXIf, IEND), JPEG (SOFn, APP1 Exif,
EOI after the scan), WebP (VP8, VP8L, VP8X, EXIF, RIFF size), BMP (core and info headers),
TIFF (IFD0: size, photometric, orientation, strip/tile extents), GIF and PNM (size only).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

__all__ = ["ImageInfo", "probe_image", "sniff_format"]


@dataclass(frozen=True)
class ImageInfo:
    """What the header says about an image.

    Attributes:
        width: Width in pixels as stored (before EXIF orientation); 0 when unknown.
        height: Height in pixels as stored; 0 when unknown.
        format: ``"png"``, ``"jpg"``, ``"webp"``, ``"bmp"``, ``"tiff"``, ``"gif"``, ``"pnm"`` or
            ``"unknown"``.
        orientation: EXIF orientation 1-8 (1 = as stored, also when absent).
        bit_depth: Bits per sample when the header says so, else ``None``.
        truncated: A plain-words reason when the bytes end before the image does, else ``None``.
        cmyk: True for a CMYK (separated) TIFF or JPEG.
        gray_trns: For a gray PNG with a tRNS chunk, the transparent gray value (in the file's
            bit depth), else ``None``.
        photometric: TIFF PhotometricInterpretation, else ``None``.
        samples: Samples per pixel (TIFF), else 0.
        sample_format: TIFF SampleFormat (1 unsigned, 2 signed, 3 float), else ``None``.
        compression: TIFF or BMP compression code, else ``None``.
        planar: A TIFF that stores each sample in its own plane (PlanarConfiguration 2).
        extra_sample: A TIFF's first ExtraSamples value (0 unspecified, 1 premultiplied alpha,
            2 straight alpha), else ``None``.
        damaged: A plain-words reason when the header shows the file is damaged or not a
            standard file of its format (an unknown PNG compression method, a TIFF whose tile
            table does not match its size), else ``None``.
    """

    width: int
    height: int
    format: str
    orientation: int = 1
    bit_depth: int | None = None
    truncated: str | None = None
    cmyk: bool = False
    gray_trns: int | None = None
    photometric: int | None = None
    samples: int = 0
    sample_format: int | None = None
    compression: int | None = None
    damaged: str | None = None
    planar: bool = False
    extra_sample: int | None = None

    @property
    def pixels(self) -> int:
        """``width * height`` (0 when unknown)."""
        return self.width * self.height


_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def sniff_format(data: bytes) -> str:
    """Return the format named by the magic bytes at the start of ``data`` (or ``"unknown"``)."""
    if data.startswith(_PNG_SIG):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"1234567":
        return "pnm"
    return "unknown"


def probe_image(data: bytes, name: str = "<bytes>") -> ImageInfo:
    """Read the size and format of an encoded image from its header, without decoding pixels.

    Args:
        data: The encoded file's bytes.
        name: Only for symmetry with :func:`~ganedit.io.decode_image`; not used in the result.

    Returns:
        An :class:`ImageInfo`. ``width``/``height`` are 0 when the header could not be parsed
        (an unknown format, or a header too short or malformed); callers treat that as unknown.
    """
    del name
    fmt = sniff_format(data)
    parser = _PARSERS.get(fmt)
    if parser is None:
        return ImageInfo(0, 0, fmt)
    try:
        return parser(data)
    except (struct.error, IndexError, ValueError):
        return ImageInfo(0, 0, fmt, truncated="the header is cut short or malformed (corrupt file)")


# --- EXIF (a TIFF structure) -------------------------------------------------------------------


def _tiff_ifd0(tiff: bytes) -> tuple[str, dict[int, tuple[int, int, int]]]:
    """Parse the first IFD of a TIFF (or BigTIFF) structure:
    ``{tag: (type, count, value_or_offset_pos)}``; the byte order is ``"<"``/``">"``, with
    ``"Q"`` added for BigTIFF (8-byte counts and offsets)."""
    if tiff[:2] == b"II":
        e = "<"
    elif tiff[:2] == b"MM":
        e = ">"
    else:
        raise ValueError("not a TIFF structure")
    (magic,) = struct.unpack(e + "H", tiff[2:4])
    if magic == 43:  # BigTIFF: 8-byte offsets, 20-byte entries
        (off,) = struct.unpack(e + "Q", tiff[8:16])
        (n,) = struct.unpack(e + "Q", tiff[off : off + 8])
        head, size, count_code = 8, 20, "Q"
    elif magic == 42:
        (off,) = struct.unpack(e + "I", tiff[4:8])
        (n,) = struct.unpack(e + "H", tiff[off : off + 2])
        head, size, count_code = 2, 12, "I"
    else:
        raise ValueError("not TIFF")
    if n > 4096:
        raise ValueError("implausible TIFF directory")
    entries: dict[int, tuple[int, int, int]] = {}
    for i in range(n):
        p = off + head + size * i
        tag, typ = struct.unpack(e + "HH", tiff[p : p + 4])
        value_at = p + 4 + struct.calcsize(count_code)
        (count,) = struct.unpack(e + count_code, tiff[p + 4 : value_at])
        entries[tag] = (typ, count, value_at)
    return (e + "Q" if magic == 43 else e), entries


_TYPE_SIZE = {1: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4, 16: 8, 17: 8, 18: 8}
_TYPE_CODE = {1: "B", 3: "H", 4: "I", 6: "b", 7: "B", 8: "h", 9: "i", 16: "Q", 17: "q", 18: "Q"}


def _tiff_values(tiff: bytes, e: str, entry: tuple[int, int, int]) -> list[int]:
    """The values of one IFD entry (``e``: byte order, ``"Q"`` added for BigTIFF)."""
    typ, count, pos = entry
    size = _TYPE_SIZE.get(typ)
    if size is None:
        raise ValueError(f"unexpected TIFF field type {typ}")
    if count > 1 << 24:
        raise ValueError("implausible TIFF field")
    big = e.endswith("Q")
    order = e[0]
    if size * count > (8 if big else 4):
        (pos,) = struct.unpack(order + ("Q" if big else "I"), tiff[pos : pos + (8 if big else 4)])
    raw = tiff[pos : pos + size * count]
    if len(raw) < size * count:
        raise ValueError("TIFF field runs past the end")
    return list(struct.unpack(order + _TYPE_CODE[typ] * count, raw))


def _exif_orientation(tiff: bytes, absent: int = 1) -> int:
    """Orientation (1-8) from an EXIF TIFF block; ``absent`` when absent or malformed."""
    try:
        e, entries = _tiff_ifd0(tiff)
        if 274 in entries:
            value = _tiff_values(tiff, e, entries[274])[0]
            if 1 <= value <= 8:
                return value
    except (struct.error, ValueError, IndexError):
        pass
    return absent


def _xmp_orientation(xmp: bytes) -> int:
    """Orientation (1-8) from an XMP packet's ``tiff:Orientation`` (1 when absent)."""
    m = re.search(rb'tiff:Orientation(?:="|>)([1-8])', xmp)
    return int(m.group(1)) if m else 1


def _png_text_orientation(ctype: bytes, body: bytes) -> tuple[int, int]:
    """``(exif, xmp)`` orientations (0 when absent) from a PNG text chunk: ImageMagick's
    "Raw profile type exif" (hex EXIF) and the XMP packet "XML:com.adobe.xmp"."""
    key, _, rest = body.partition(b"\x00")
    if key not in (b"Raw profile type exif", b"XML:com.adobe.xmp"):
        return 0, 0
    try:
        if ctype == b"zTXt":
            text = zlib.decompressobj().decompress(rest[1:], 1 << 20)
        elif ctype == b"iTXt":
            flag = rest[0]
            text = rest[2:].split(b"\x00", 2)[-1]
            text = zlib.decompressobj().decompress(text, 1 << 20) if flag else text
        else:
            text = rest
    except (zlib.error, IndexError):
        return 0, 0
    if key == b"XML:com.adobe.xmp":
        return 0, _xmp_orientation(text)
    lines = text.split(b"\n")
    try:
        raw = bytes.fromhex(b"".join(lines[3:]).decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return 0, 0
    raw = raw[raw.find(b"Exif\x00\x00") + 6 :] if b"Exif\x00\x00" in raw[:16] else raw
    return _exif_orientation(raw, absent=0), 0


# --- formats -----------------------------------------------------------------------------------


def _png(data: bytes) -> ImageInfo:
    w, h, depth, color, method, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if data[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    damaged = None
    for what, value, top in (("compression", method, 0), ("filter", filtering, 0),
                             ("interlace", interlace, 1)):  # fmt: skip
        if value > top and damaged is None:
            damaged = f"its header names an unknown {what} method ({value}); PNG has no such"
    orientation, gray_trns, text_orientation = 0, None, (0, 0)
    truncated: str | None = "the PNG has no IEND chunk (file is cut short)"
    pos, n = 8, len(data)
    while pos + 8 <= n:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if not ctype.isalpha():
            truncated = "the PNG is corrupt: a chunk header is garbled"
            break
        if pos + 12 + length > n:
            truncated = f"the PNG is cut short inside its {ctype.decode('latin-1')!r} chunk"
            break
        if ctype == b"eXIf":
            block = body[6:] if body.startswith(b"Exif\x00\x00") else body
            orientation = _exif_orientation(block, absent=0)
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            in_exif, in_xmp = _png_text_orientation(ctype, body)
            text_orientation = (text_orientation[0] or in_exif, text_orientation[1] or in_xmp)
        elif ctype == b"tRNS" and color == 0 and length >= 2:
            (gray_trns,) = struct.unpack(">H", body[:2])
        elif ctype == b"IEND":
            truncated = None
            break
        pos += 12 + length
    # as Pillow reads it: an eXIf chunk, else ImageMagick's raw EXIF text, else XMP
    orientation = orientation or text_orientation[0] or text_orientation[1] or 1
    return ImageInfo(
        w, h, "png", orientation, depth, truncated, gray_trns=gray_trns, damaged=damaged
    )


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> ImageInfo:
    pos, n = 2, len(data)
    w = h = 0
    depth = None
    cmyk = False
    orientation, exif_seen, xmp = 0, False, 0
    while pos < n:
        if data[pos] != 0xFF:  # junk before a marker: libjpeg skips it (with a warning)
            nxt = data.find(b"\xff", pos)
            if nxt < 0:
                break
            pos = nxt
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # 0x00: a stray FF00
            continue
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        seg = data[pos + 2 : pos + length]
        if marker in _SOF:
            depth, h, w, ncomp = struct.unpack(">BHHB", seg[:6])
            cmyk = ncomp == 4
        elif marker == 0xE1 and seg.startswith(b"Exif\x00\x00") and not exif_seen:
            exif_seen, orientation = True, _exif_orientation(seg[6:], absent=0)
        elif marker == 0xE1 and seg.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
            xmp = xmp or _xmp_orientation(seg)
        elif marker == 0xDA:  # start of scan: entropy-coded data follows, ended by EOI
            if w == 0 or h == 0:
                raise ValueError("no frame header before the scan")
            truncated = None
            orientation = orientation or xmp or 1  # as Pillow: EXIF, else XMP
            if data.find(b"\xff\xd9", pos + length) < 0:
                truncated = "the JPEG has no end-of-image marker (file is cut short)"
            return ImageInfo(w, h, "jpg", orientation, depth, truncated, cmyk=cmyk)
        pos += length
    if w and h:
        return ImageInfo(
            w,
            h,
            "jpg",
            orientation or 1,
            depth,
            "the JPEG ends before its image data (file is cut short)",
        )
    return ImageInfo(
        0, 0, "jpg", truncated="the JPEG ends before its frame header (file is cut short)"
    )


def _webp(data: bytes) -> ImageInfo:
    (riff_size,) = struct.unpack("<I", data[4:8])
    truncated = None
    if len(data) < 8 + riff_size:
        truncated = "the WebP file is shorter than its RIFF header says (file is cut short)"
    fourcc = data[12:16]
    orientation = 1
    if fourcc == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        w, h = struct.unpack("<HH", data[26:30])
        w, h = w & 0x3FFF, h & 0x3FFF
    elif fourcc == b"VP8L":
        if data[20] != 0x2F:
            raise ValueError("bad VP8L signature")
        (bits,) = struct.unpack("<I", data[21:25])
        w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif fourcc == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        pos = 12
        while pos + 8 <= len(data):
            ctype = data[pos : pos + 4]
            (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
            if ctype == b"EXIF":
                body = data[pos + 8 : pos + 8 + length]
                if body.startswith(b"Exif\x00\x00"):
                    body = body[6:]
                orientation = _exif_orientation(body) or 1
                break
            if ctype == b"XMP " and orientation == 1:
                orientation = _xmp_orientation(data[pos + 8 : pos + 8 + length])
            pos += 8 + length + (length & 1)
    else:
        raise ValueError("unknown WebP chunk")
    return ImageInfo(w, h, "webp", orientation, 8, truncated)


def _bmp(data: bytes) -> ImageInfo:
    (offset,) = struct.unpack("<I", data[10:14])
    (hsize,) = struct.unpack("<I", data[14:18])
    if hsize == 12:
        w, h, _planes, bpp = struct.unpack("<HHHH", data[18:26])
        compression = 0
    else:
        w, h, _planes, bpp, compression = struct.unpack("<iiHHI", data[18:34])
    damaged = f"its width is negative ({w})" if w < 0 else None  # only rows may run top-down
    w, h = abs(w), abs(h)
    truncated = None
    if compression in (0, 3) and bpp in (1, 4, 8, 16, 24, 32):
        row = ((bpp * w + 31) // 32) * 4
        if len(data) < offset + row * h:
            truncated = "the BMP pixel data is shorter than its header says (file is cut short)"
    return ImageInfo(w, h, "bmp", 1, bpp, truncated, compression=compression, damaged=damaged)


def _tiff(data: bytes) -> ImageInfo:
    e, entries = _tiff_ifd0(data)

    def first(tag: int, default: int) -> int:
        return _tiff_values(data, e, entries[tag])[0] if tag in entries else default

    w, h = first(256, 0), first(257, 0)
    photometric = first(262, 1)
    depth = first(258, 1)
    orientation = first(274, 1)
    samples = first(277, 1)
    planar = first(284, 1) == 2
    compression = first(259, 1)
    # uncompressed strips need no more than their rows' bytes, whatever their counts say
    row = -(-w * depth * (1 if planar else samples) // 8)
    need = row * min(first(278, h) or h, h) if compression == 1 else None
    truncated = None
    for off_tag, cnt_tag in ((273, 279), (324, 325)):
        if off_tag in entries and cnt_tag in entries:
            offs = _tiff_values(data, e, entries[off_tag])
            cnts = _tiff_values(data, e, entries[cnt_tag])
            if need is not None and off_tag == 273:
                cnts = [min(c, need) for c in cnts]
            end = max((o + c for o, c in zip(offs, cnts, strict=False)), default=0)
            if end > len(data):
                truncated = "the TIFF image data runs past the end of the file (file is cut short)"
    return ImageInfo(
        w,
        h,
        "tiff",
        orientation if 1 <= orientation <= 8 else 1,
        depth,
        truncated,
        photometric == 5,
        photometric=photometric,
        samples=samples,
        sample_format=first(339, 1),
        compression=compression,
        damaged=_tile_problem(data, e, entries, w, h, samples),
        planar=planar,
        extra_sample=first(338, 0) if 338 in entries else None,
    )


def _tile_problem(
    data: bytes, e: str, entries: dict[int, tuple[int, int, int]], w: int, h: int, samples: int
) -> str | None:
    """Why a tiled TIFF's tile table cannot be trusted (``None``: it can): tiles must be
    multiples of 16 pixels (TIFF 6.0) and there must be one offset and size per tile."""
    if 322 not in entries or 323 not in entries:
        return None
    tw = _tiff_values(data, e, entries[322])[0]
    th = _tiff_values(data, e, entries[323])[0]
    if tw <= 0 or th <= 0 or tw % 16 or th % 16:
        return f"its tiles are {tw}x{th} pixels; TIFF tiles must be multiples of 16"
    planes = samples if 284 in entries and _tiff_values(data, e, entries[284])[0] == 2 else 1
    expected = -(-w // tw) * -(-h // th) * planes
    for tag in (324, 325):
        if tag in entries and entries[tag][1] != expected:
            return f"its tile table lists {entries[tag][1]} tiles where its size needs {expected}"
    return None


def _gif(data: bytes) -> ImageInfo:
    w, h = struct.unpack("<HH", data[6:10])
    return ImageInfo(w, h, "gif", 1, 8)


def _pnm(data: bytes) -> ImageInfo:
    head = data[2:4096]
    tokens: list[bytes] = []
    for line in head.split(b"\n"):
        tokens.extend(line.split(b"#", 1)[0].split())
        if len(tokens) >= 2:
            break
    try:
        fields = [int(t) for t in tokens[:2]]
    except ValueError:  # PAM (P7) and other variants: size unknown, checked after decoding
        return ImageInfo(0, 0, "pnm")
    if len(fields) < 2:
        raise ValueError("short PNM header")
    return ImageInfo(fields[0], fields[1], "pnm")


_PARSERS = {
    "png": _png,
    "jpg": _jpeg,
    "webp": _webp,
    "bmp": _bmp,
    "tiff": _tiff,
    "gif": _gif,
    "pnm": _pnm,
}
