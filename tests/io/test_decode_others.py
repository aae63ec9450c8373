"""Issue 24: files other readers decode are decoded (Pillow where OpenCV cannot or misreads),
with the pixel limit, the layout rules and a note; alpha exactly when the file has it;
orientation from every place a format keeps it; "corrupt" only for damaged files and
"unsupported" naming what for the rest. Every file is made here (numpy, struct, Pillow)."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from imagefiles import bmp_file, tiff_file  # noqa: E402
from imgbytes import chunk, exif_tiff, png  # noqa: E402

import ganedit.io.decode as decode_mod  # noqa: E402
from ganedit.io import ImageReadError  # noqa: E402
from ganedit.io.decode import decode_file  # noqa: E402

RGB = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
GRAY_TAGS = {259: (3, [1]), 262: (3, [1]), 277: (3, [1])}


def _pil(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im)


def _pillow_save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _packed_gray(values: np.ndarray, bits: int) -> bytes:
    per = 8 // bits
    out = bytearray()
    for row in values:
        for i in range(0, len(row), per):
            byte = 0
            for v in row[i : i + per]:
                byte = (byte << bits) | int(v)
            out.append(byte)
    return bytes(out)


# --- TIFF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2, 4])
def test_low_bit_gray_tiff_is_read_full_range_and_gray(bits):
    values = np.arange(32).reshape(4, 8) % (1 << bits)
    data = tiff_file(8, 4, {258: (3, [bits]), **GRAY_TAGS}, _packed_gray(values, bits))
    got = decode_file(data, name="low.tif")
    assert got.pixels.shape == (4, 8, 1) and got.pixels.dtype == np.uint8
    assert got.pixels[:, :, 0].tolist() == (values * (255 // ((1 << bits) - 1))).tolist()
    assert any("Pillow" in n for n in got.notes)


def test_16_bit_cmyk_tiff_becomes_rgb_as_pillow_reads_it():
    cmyk = (np.random.default_rng(1).random((8, 8, 4)) * 65535).astype(np.uint16)
    data = tiff_file(8, 8, {258: (3, [16] * 4), 259: (3, [1]), 262: (3, [5]), 277: (3, [4])},
                     cmyk.tobytes())  # fmt: skip
    got = decode_file(data, name="cmyk16.tif").pixels
    with Image.open(io.BytesIO(data)) as im:
        assert got.tolist() == np.asarray(im.convert("RGB")).tolist()


def test_bigtiff_is_read():
    tags = {258: (3, [8, 8, 8]), 259: (3, [1]), 262: (3, [2]), 277: (3, [3])}
    data = tiff_file(16, 16, tags, RGB.tobytes(), big=True)
    assert data[:4] == b"II+\x00"
    assert np.array_equal(decode_file(data, name="big.tif").pixels, RGB)


def test_lzma_tiff_is_read():
    try:
        data = _pillow_save(Image.fromarray(RGB), "TIFF", compression="tiff_lzma")
    except (OSError, ValueError, KeyError):
        pytest.skip("this Pillow's libtiff cannot write LZMA")
    assert np.array_equal(decode_file(data, name="lzma.tif").pixels, RGB)


def test_any_file_opencv_cannot_decode_goes_to_pillow_with_a_note(monkeypatch):
    data = _pillow_save(Image.fromarray(RGB), "PNG")
    monkeypatch.setattr(decode_mod, "_imdecode", lambda buf, name: None)
    got = decode_file(data, name="x.png")
    assert np.array_equal(got.pixels, RGB)
    assert got.notes == ["decoded with Pillow (OpenCV could not decode it)"]
    with pytest.raises(ImageReadError, match="over the limit of 100 pixels"):
        decode_file(data, name="x.png", max_pixels=100)


def test_old_style_jpeg_tiff_is_read_as_pillow_reads_it(tmp_path):
    jpeg = cv2.imencode(".jpg", RGB)[1].tobytes()
    tags = {258: (3, [8, 8, 8]), 259: (3, [6]), 262: (3, [6]), 277: (3, [3]),
            513: (4, [0]), 514: (4, [len(jpeg)])}  # fmt: skip
    data = bytearray(tiff_file(16, 16, tags, jpeg))
    strip_at = len(data) - len(jpeg)
    at = data.index(struct.pack("<HHI", 513, 4, 1)) + 8  # JPEGInterchangeFormat -> the stream
    data[at : at + 4] = struct.pack("<I", strip_at)
    got = decode_file(bytes(data), name="ojpeg.tif")
    assert got.pixels.shape == (16, 16, 3)
    assert np.array_equal(got.pixels, _pil(bytes(data)))


def test_palette_tiff_with_alpha_keeps_alpha():
    palette = [i * 257 for i in range(256)] + [(255 - i) * 257 for i in range(256)] + [0] * 256
    index = (np.arange(64) % 4).astype(np.uint8)
    alpha = np.where(index == 0, 0, 200).astype(np.uint8)
    tags = {258: (3, [8, 8]), 259: (3, [1]), 262: (3, [3]), 277: (3, [2]), 338: (3, [2]),
            320: (3, palette)}  # fmt: skip
    data = tiff_file(8, 8, tags, np.stack([index, alpha], 1).tobytes())
    got = decode_file(data, name="pa.tif").pixels
    assert got.shape == (8, 8, 4)
    assert got[:, :, 3].ravel().tolist() == alpha.tolist()
    assert got[0, 1, :3].tolist() == [1, 254, 0]


def test_premultiplied_16_bit_alpha_is_made_straight():
    px = np.array([[[1000, 2000, 3000, 4000], [0, 0, 0, 0]]], np.uint16)
    tags = {258: (3, [16] * 4), 259: (3, [1]), 262: (3, [2]), 277: (3, [4]), 338: (3, [1])}
    got = decode_file(tiff_file(2, 1, tags, px.tobytes()), name="rgba.tif").pixels
    assert got.dtype == np.uint16
    assert got[0, 0].tolist() == [1000 * 65535 // 4000, 2000 * 65535 // 4000,
                                  3000 * 65535 // 4000, 4000]  # fmt: skip
    assert got[0, 1].tolist() == [0, 0, 0, 0]


def test_signed_16_bit_with_negative_values_is_unsupported_naming_it():
    values = (np.arange(64, dtype=np.int16) - 32).tobytes()
    data = tiff_file(8, 8, {258: (3, [16]), 339: (3, [2]), **GRAY_TAGS}, values)
    with pytest.raises(ImageReadError, match="unsupported sample format: 16-bit .*negative"):
        decode_file(data, name="s16.tif")


def test_16_bit_float_samples_are_unsupported_naming_them():
    values = np.linspace(0, 1, 64, dtype=np.float16).tobytes()
    data = tiff_file(8, 8, {258: (3, [16]), 339: (3, [3]), **GRAY_TAGS}, values)
    with pytest.raises(ImageReadError, match="unsupported sample format: 16-bit floating"):
        decode_file(data, name="f16.tif")


def test_a_tile_table_that_does_not_fit_the_image_is_corrupt():
    tags = {258: (3, [8]), **GRAY_TAGS, 322: (3, [10]), 323: (3, [10]), 324: (4, [8]),
            325: (4, [100])}  # fmt: skip
    data = tiff_file(10, 10, tags, bytes(100))
    with pytest.raises(ImageReadError, match="corrupt.*multiples of 16"):
        decode_file(data, name="tiles.tif")


# --- BMP ----------------------------------------------------------------------------------------


def test_565_bmp_expands_to_the_full_range():
    px = np.array([[0xFFFF, 0xF800, 0x07E0, 0x001F]] * 2, np.uint16)
    data = bmp_file(4, 2, 16, px.tobytes(), compression=3, masks=(0xF800, 0x07E0, 0x001F))
    got = decode_file(data, name="565.bmp").pixels
    assert got[0].tolist() == [[255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert np.array_equal(got, _pil(data))


def test_555_bmp_white_stays_white():
    px = np.array([[0x7FFF, 0x4210]] * 2, np.uint16)
    got = decode_file(bmp_file(2, 2, 16, px.tobytes()), name="555.bmp").pixels
    assert got[0, 0].tolist() == [255, 255, 255] and got[0, 1].tolist() == [131, 131, 131]


def test_32_bit_bitfields_without_alpha_mask_has_no_alpha():
    bgrx = np.array([[[255, 0, 0, 7], [0, 255, 0, 9]]] * 2, np.uint8)
    masks = (0xFF0000, 0xFF00, 0xFF)
    for header in (40, 124):
        data = bmp_file(2, 2, 32, bgrx.tobytes(), compression=3, masks=masks, header_size=header)
        got = decode_file(data, name="xbgr.bmp").pixels
        assert got.shape == (2, 2, 3), header
        assert got[0].tolist() == [[0, 0, 255], [0, 255, 0]]


def test_32_bit_bmp_with_an_alpha_mask_keeps_alpha():
    bgra = np.array([[[255, 0, 0, 7], [0, 255, 0, 200]]] * 2, np.uint8)
    data = bmp_file(2, 2, 32, bgra.tobytes(), compression=3, header_size=124,
                    masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000))  # fmt: skip
    got = decode_file(data, name="argb.bmp").pixels
    assert got.shape == (2, 2, 4) and got[0, :, 3].tolist() == [7, 200]


def test_dib_without_file_header_is_read_as_its_bmp():
    rows = np.zeros((2, 4, 3), np.uint8)
    rows[..., 2] = 200  # BGR: red
    bmp = bmp_file(4, 2, 24, rows.tobytes())
    got = decode_file(bmp[14:], name="clip.dib")
    assert np.array_equal(got.pixels, decode_file(bmp, name="x.bmp").pixels)
    assert got.pixels[0, 0].tolist() == [200, 0, 0]
    assert "DIB" in got.notes[0]


def test_a_bmp_header_pillow_does_not_support_is_refused_naming_it():
    data = bmp_file(4, 2, 24, bytes(24), header_size=41)
    with pytest.raises(ImageReadError, match="unsupported BMP header \\(41 bytes"):
        decode_file(data, name="odd.bmp")


# --- JPEG ---------------------------------------------------------------------------------------


def test_junk_before_the_frame_header_is_skipped_as_libjpeg_does():
    jpeg = cv2.imencode(".jpg", RGB)[1].tobytes()
    sof = jpeg.index(b"\xff\xc0")
    clean = decode_file(jpeg, name="a.jpg").pixels
    for odd in (jpeg[:sof] + b"\x12\x34" + jpeg[sof:],  # junk bytes
                jpeg[:sof] + b"\xff\x00" + jpeg[sof:],  # a stray stuffed zero
                jpeg[:2] + b"\xff\xff\xff\xe5\x00\x02" + jpeg[2:],  # fill bytes, empty APP5
                jpeg[:2] + b"\xff\xef\x00\x04ab" + jpeg[2:]):  # fmt: skip
        assert np.array_equal(decode_file(odd, name="odd.jpg").pixels, clean)


def test_junk_right_after_soi_is_corrupt_not_another_format():
    jpeg = cv2.imencode(".jpg", RGB)[1].tobytes()
    with pytest.raises(ImageReadError, match="looks like JPG.*corrupt"):
        decode_file(jpeg[:2] + b"\x00\x00junk" + jpeg[2:], name="bad.jpg")


def test_xmp_orientation_in_a_jpeg():
    jpeg = cv2.imencode(".jpg", np.ascontiguousarray(RGB[:, :8]))[1].tobytes()
    xmp = b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:Description tiff:Orientation="6"/>'
    data = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp + jpeg[2:]
    assert decode_file(data, name="xmp.jpg").pixels.shape == (8, 16, 3)


# --- PNG, WebP ----------------------------------------------------------------------------------


def _rgb_png(h: int = 4, w: int = 6, extra=(), after=()) -> bytes:
    rows = [bytes(range(y, y + 3 * w)) for y in range(h)]
    data = png(w, h, 8, 2, rows, list(extra))
    end = data.rindex(b"\x00\x00\x00\x00IEND")
    return data[:end] + b"".join(chunk(t, b) for t, b in after) + data[end:]


def test_png_orientation_from_exif_after_idat_and_with_an_exif_prefix():
    for data in (_rgb_png(after=[(b"eXIf", exif_tiff(6))]),
                 _rgb_png(extra=[(b"eXIf", b"Exif\x00\x00" + exif_tiff(6))])):  # fmt: skip
        assert decode_file(data, name="o.png").pixels.shape == (6, 4, 3)


def test_png_orientation_from_imagemagick_raw_exif_and_from_xmp():
    raw = (b"Exif\x00\x00" + exif_tiff(8)).hex().encode()
    text = b"\nexif\n" + str(len(raw) // 2).encode() + b"\n" + raw + b"\n"
    magick = (b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(text))
    xmp = (b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<rdf tiff:Orientation>6<")
    for extra in (magick, xmp):
        assert decode_file(_rgb_png(extra=[extra]), name="o.png").pixels.shape == (6, 4, 3)


def test_alpha_exactly_when_the_png_has_it():
    plain = _pillow_save(Image.fromarray(RGB), "PNG")
    trns = _pillow_save(Image.fromarray(RGB), "PNG", transparency=tuple(int(v) for v in RGB[0, 0]))
    pal = _pillow_save(Image.fromarray(RGB).convert("P"), "PNG")
    assert decode_file(plain, name="a.png").pixels.shape[2] == 3
    assert decode_file(pal, name="p.png").pixels.shape[2] == 3
    got = decode_file(trns, name="t.png").pixels
    assert got.shape[2] == 4 and got[0, 0, 3] == 0 and (got[..., 3] == 0).sum() >= 1


def test_unknown_png_compression_method_is_corrupt():
    data = bytearray(_rgb_png())
    data[26] = 1  # IHDR compression method
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    with pytest.raises(ImageReadError, match="corrupt.*unknown compression method \\(1\\)"):
        decode_file(bytes(data), name="m.png")


def _frames(n: int = 2) -> list[Image.Image]:
    return [Image.fromarray(np.dstack([RGB, np.full((16, 16), 60 + 90 * i, np.uint8)]), "RGBA")
            for i in range(n)]  # fmt: skip


def test_apng_whose_default_image_is_not_a_frame_gives_its_first_frame():
    default, *frames = _frames(3)
    data = _pillow_save(default, "PNG", save_all=True, append_images=frames, default_image=True)
    got = decode_file(data, name="a.png")
    assert got.pixels.shape == (16, 16, 4)
    assert np.array_equal(got.pixels, _pil(data))  # the frame Pillow shows first
    assert any("animated PNG" in n for n in got.notes)


def test_apng_with_frame_sequence_errors_is_refused_as_corrupt():
    default, *frames = _frames(3)
    data = bytearray(
        _pillow_save(default, "PNG", save_all=True, append_images=frames, default_image=True)
    )
    at = data.index(b"fcTL", data.index(b"IDAT")) - 4  # the fcTL of the first fdAT frame
    del data[at : at + 12 + 26]  # gone: its fdAT follows no fcTL
    with pytest.raises(ImageReadError, match="corrupt.*sequence"):
        decode_file(bytes(data), name="seq.png")


def test_animated_webp_keeps_alpha():
    frames = _frames()
    try:
        data = _pillow_save(frames[0], "WEBP", save_all=True, append_images=frames[1:],
                            lossless=True)  # fmt: skip
    except (OSError, ValueError):
        pytest.skip("this Pillow cannot write animated WebP")
    got = decode_file(data, name="anim.webp")
    assert got.pixels.shape == (16, 16, 4) and (got.pixels[..., 3] == 60).all()
    assert np.array_equal(got.pixels[..., :3], RGB)


def test_gif_has_alpha_exactly_when_it_has_a_transparent_index():
    pal = Image.fromarray(RGB).convert("P")
    plain = decode_file(_pillow_save(pal, "GIF"), name="a.gif").pixels
    assert plain.shape == (16, 16, 3) and np.array_equal(plain, np.asarray(pal.convert("RGB")))
    index = int(np.asarray(pal)[0, 0])
    got = decode_file(_pillow_save(pal, "GIF", transparency=index), name="t.gif").pixels
    assert got.shape == (16, 16, 4) and got[0, 0, 3] == 0
    assert (got[..., 3] == 0).sum() == (np.asarray(pal) == index).sum()


def test_damaged_bmp_headers_say_corrupt_and_odd_ones_unsupported():
    rows = bytes(24)
    cases = {
        "the BMP is corrupt: 30000 bits per pixel": bmp_file(4, 2, 30000, rows),
        "unsupported BMP compression: an embedded PNG": bmp_file(4, 2, 0, rows, compression=5),
        "the BMP is corrupt: 300 palette entries": bmp_file(
            4, 2, 8, bytes(16), palette=bytes(1200)
        ),  # fmt: skip
        "corrupt: its width is negative": bmp_file(-4, 2, 24, rows),
    }
    for words, data in cases.items():
        with pytest.raises(ImageReadError, match=words):
            decode_file(data, name="bad.bmp")


@pytest.mark.parametrize("extra, channels", [(0, 3), (2, 4)])
def test_a_tiffs_fourth_sample_is_alpha_only_when_it_says_so(extra, channels):
    px = (np.random.default_rng(4).random((4, 4, 4)) * 65535).astype(np.uint16)
    tags = {258: (3, [16] * 4), 259: (3, [1]), 262: (3, [2]), 277: (3, [4]), 338: (3, [extra])}
    got = decode_file(tiff_file(4, 4, tags, px.tobytes()), name="x.tif").pixels
    assert got.shape == (4, 4, channels) and got.dtype == np.uint16
    assert np.array_equal(got, px[:, :, :channels])


def test_the_pillow_path_keeps_a_16_bit_gray_trns_as_alpha(monkeypatch):
    gray = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    data = _pillow_save(Image.fromarray(gray), "PNG", transparency=3000)
    monkeypatch.setattr(decode_mod, "_imdecode", lambda buf, name: None)
    got = decode_file(data, name="g16.png").pixels
    assert got.shape == (8, 8, 4) and got.dtype == np.uint16
    assert got[..., 0].tolist() == gray.tolist()
    assert (got[..., 3] == 0).tolist() == (gray == 3000).tolist()
