"""Reading images: formats, depths, layouts, EXIF, palette, CMYK, bad inputs, the pixel limit."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from imgbytes import (
    CMYK_JPEG,
    exif_tiff,
    jpeg_with_exif,
    png,
    png_with_exif,
    psnr,
    smooth_image,
    tiff,
)

from ganedit.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    decode_image,
    encode_image,
    get_max_pixels,
    probe_image,
    read_image,
    set_max_pixels,
    write_image,
)


@pytest.fixture(autouse=True)
def _reset_limit(monkeypatch):
    monkeypatch.delenv("GANEDIT_MAX_PIXELS", raising=False)
    set_max_pixels(None)
    yield
    set_max_pixels(None)


# --- round trips through real files --------------------------------------------------------------

LOSSLESS = [
    (fmt, dtype, c)
    for fmt, dtypes, chans in [
        ("png", (np.uint8, np.uint16), (1, 3, 4)),
        ("tiff", (np.uint8, np.uint16), (1, 3, 4)),
        ("bmp", (np.uint8,), (1, 3, 4)),
        ("webp", (np.uint8,), (3, 4)),
    ]
    for dtype in dtypes
    for c in chans
]


@pytest.mark.parametrize(("fmt", "dtype", "c"), LOSSLESS)
def test_lossless_round_trip_is_exact(tmp_path, fmt, dtype, c):
    rng = np.random.default_rng(1)
    img = rng.integers(0, np.iinfo(dtype).max, size=(13, 17, c), endpoint=True).astype(dtype)
    path = write_image(tmp_path / f"x.{fmt}", img)
    out = read_image(path)
    assert out.dtype == dtype and out.shape == img.shape
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("c", [1, 3])
def test_jpeg_round_trip_psnr(tmp_path, c):
    img = smooth_image(48, 64, c)
    out = read_image(write_image(tmp_path / "x.jpg", img))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert psnr(out, img) > 35


@pytest.mark.parametrize("c", [3, 4])
def test_lossy_webp_round_trip_psnr(tmp_path, c):
    img = smooth_image(48, 64, c)
    out = read_image(write_image(tmp_path / "x.webp", img, quality=90))
    assert out.shape == img.shape
    assert psnr(out, img) > 35


def test_gray_webp_reads_back_as_rgb(tmp_path):
    gray = smooth_image(16, 16, 1)
    out = read_image(write_image(tmp_path / "g.webp", gray))
    assert out.shape == (16, 16, 3)
    for k in range(3):
        np.testing.assert_array_equal(out[:, :, k], gray[:, :, 0])


def test_channel_order_is_rgb(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 200  # red
    path = tmp_path / "red.png"
    path.write_bytes(encode_image(img, "png"))
    bgr = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 0].tolist() == [0, 0, 200]  # the file really holds red
    assert read_image(path)[0, 0].tolist() == [200, 0, 0]


def test_non_ascii_and_space_paths(tmp_path):
    img = smooth_image(8, 10, 3)
    path = tmp_path / "fötö ñame" / "çat 1.png"
    write_image(path, img)
    assert path.is_file()
    np.testing.assert_array_equal(read_image(path), img)
    np.testing.assert_array_equal(read_image(str(path)), img)


# --- EXIF orientation -------------------------------------------------------------------------------


def _marked(h: int = 16, w: int = 24) -> np.ndarray:
    img = np.full((h, w, 3), 40, np.uint8)
    img[:8, :8] = (250, 30, 30)  # a red block in the top-left corner
    return img


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_matches_opencv(tmp_path, orientation):
    data = jpeg_with_exif(
        encode_image(_marked(), "jpg"), orientation, little_endian=orientation % 2 == 0
    )
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(data)
    out = read_image(path)
    ref = cv2.cvtColor(
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )
    np.testing.assert_array_equal(out, ref)
    assert probe_image(data).orientation == orientation


def test_exif_orientation_6_turns_clockwise(tmp_path):
    path = tmp_path / "rot.jpg"
    path.write_bytes(jpeg_with_exif(encode_image(_marked(), "jpg"), 6))
    out = read_image(path)
    assert out.shape == (24, 16, 3)
    assert out[2, -3, 0] > 200 and out[2, 2, 0] < 100  # top-left moved to top-right


def test_png_exif_orientation(tmp_path):
    data = png_with_exif(encode_image(_marked(), "png"), 8)
    path = tmp_path / "rot.png"
    path.write_bytes(data)
    out = read_image(path)
    np.testing.assert_array_equal(out, np.rot90(_marked(), k=1))  # 8 = turn 90 degrees left


def test_tiff_orientation_applied_once(tmp_path):
    img = _marked()
    path = tmp_path / "rot.tif"
    path.write_bytes(tiff(img, photometric=2, orientation=6))
    out = read_image(path)
    np.testing.assert_array_equal(out, np.rot90(img, k=-1))


# --- palette, gray transparency, low bit depths ----------------------------------------------------

_PLTE = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
_INDEX_ROWS = [bytes([0, 1]), bytes([2, 3])]


def test_palette_png_becomes_rgb(tmp_path):
    path = tmp_path / "pal.png"
    path.write_bytes(png(2, 2, 8, 3, _INDEX_ROWS, [(b"PLTE", _PLTE)]))
    out = read_image(path)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out.reshape(-1, 3).tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]


def test_palette_png_with_trns_becomes_rgba(tmp_path):
    path = tmp_path / "palt.png"
    path.write_bytes(png(2, 2, 8, 3, _INDEX_ROWS, [(b"PLTE", _PLTE), (b"tRNS", bytes([0, 128]))]))
    out = read_image(path)
    assert out.shape == (2, 2, 4)
    assert out[..., 3].ravel().tolist() == [0, 128, 255, 255]
    assert out[..., :3].reshape(-1, 3).tolist()[1:] == [[0, 255, 0], [0, 0, 255], [10, 20, 30]]


def test_gray_png_with_trns_gets_alpha(tmp_path):
    path = tmp_path / "grayt.png"
    path.write_bytes(png(3, 1, 8, 0, [bytes([5, 7, 5])], [(b"tRNS", struct.pack(">H", 5))]))
    out = read_image(path)
    assert out.shape == (1, 3, 4)
    assert out[0, :, 3].tolist() == [0, 255, 0]
    assert out[0, :, 0].tolist() == [5, 7, 5]


def test_gray_alpha_png_becomes_rgba(tmp_path):
    path = tmp_path / "ga.png"
    path.write_bytes(png(2, 1, 16, 4, [struct.pack(">4H", 5, 100, 7, 65535)]))
    out = read_image(path)
    assert out.dtype == np.uint16
    assert out.tolist() == [[[5, 5, 5, 100], [7, 7, 7, 65535]]]


def test_one_bit_png_scaled_to_8_bit(tmp_path):
    path = tmp_path / "bits.png"
    path.write_bytes(png(8, 1, 1, 0, [bytes([0b10100000])]))
    out = read_image(path)
    assert out.shape == (1, 8, 1)
    assert out[0, :, 0].tolist() == [255, 0, 255, 0, 0, 0, 0, 0]


# --- CMYK ------------------------------------------------------------------------------------------


def test_cmyk_tiff_becomes_rgb(tmp_path):
    cmyk = np.zeros((4, 6, 4), np.uint8)
    cmyk[:2] = (0, 255, 255, 0)  # red
    cmyk[2:] = (255, 255, 0, 0)  # blue
    path = tmp_path / "cmyk.tif"
    path.write_bytes(tiff(cmyk, photometric=5))
    assert probe_image(path.read_bytes()).cmyk
    out = read_image(path)
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[3, 5].tolist() == [0, 0, 255]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    path.write_bytes(CMYK_JPEG)
    assert probe_image(CMYK_JPEG).cmyk
    out = read_image(path)
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out[2, 2], [255, 0, 0], atol=12)
    np.testing.assert_allclose(out[13, 13], [0, 0, 255], atol=12)


# --- non-8/16-bit samples -----------------------------------------------------------------------------


def test_float_tiff_becomes_uint16_by_the_documented_rule(tmp_path):
    f = np.array([[[0.0, 0.5, 1.0], [-0.2, 1.7, 0.25]]], np.float32)
    ok, buf = cv2.imencode(".tiff", f[..., ::-1].copy())
    assert ok
    path = tmp_path / "float.tiff"
    path.write_bytes(buf.tobytes())
    out = read_image(path)
    assert out.dtype == np.uint16
    assert out.tolist() == [[[0, 32768, 65535], [0, 65535, 16384]]]


def test_signed_tiff_samples_are_kept_when_they_fit_16_bits_else_refused(tmp_path):
    """Issue 24's call on signed samples: read (through Pillow) as uint16 when none is
    negative or above 65535; refused as an unsupported sample format otherwise."""
    values = np.array([[0, 1, 70], [300, 32767, 2]], np.int32)
    ok, buf = cv2.imencode(".tiff", values)
    assert ok
    path = tmp_path / "i32.tiff"
    path.write_bytes(buf.tobytes())
    out = read_image(path)
    assert out.dtype == np.uint16 and out[:, :, 0].tolist() == values.tolist()
    ok, buf = cv2.imencode(".tiff", values - 5)
    path.write_bytes(buf.tobytes())
    with pytest.raises(ImageReadError, match="unsupported sample format.*negative") as info:
        read_image(path)
    assert "i32.tiff" in str(info.value)


# --- bad inputs ------------------------------------------------------------------------------------


def _expect(path, *words):
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert str(path) in str(err) and err.path == path
    for w in words:
        assert w in err.reason, err.reason
    return err


def test_missing_file(tmp_path):
    _expect(tmp_path / "nope.png", "no such file")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.touch()
    _expect(path, "empty", "0 bytes")


def test_folder_given_as_file(tmp_path):
    path = tmp_path / "folder.png"
    path.mkdir()
    _expect(path, "folder")


def test_permission_denied(tmp_path):
    path = tmp_path / "locked.png"
    write_image(path, smooth_image(4, 4, 3))
    path.chmod(0)
    try:
        try:
            path.read_bytes()
        except PermissionError:
            pass
        else:
            if os.geteuid() == 0:
                pytest.skip("running as root: chmod 000 does not block reading")
        _expect(path, "permission denied")
    finally:
        path.chmod(0o644)


def test_unreadable_file_message(tmp_path, monkeypatch):
    # works as root too: the OS refusal is simulated where the bytes are read
    path = tmp_path / "secret.png"
    write_image(path, smooth_image(4, 4, 3))

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    _expect(path, "permission denied")


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, this is not a picture\n")
    _expect(path, "not an image", "text")


@pytest.mark.parametrize(
    "ext, side, end, head",
    [("png", 32, 12, 40), ("jpg", 64, 2, 300)],  # end: the IEND chunk / the EOI marker
)
def test_truncated_file(tmp_path, ext, side, end, head):
    """Cut before the end marker, in the middle, and just past the header."""
    data = encode_image(smooth_image(side, side, 3), ext)
    for cut in (len(data) - end, len(data) // 2, head):
        path = tmp_path / f"cut{cut}.{ext}"
        path.write_bytes(data[:cut])
        _expect(path, "cut short")


def test_png_without_iend(tmp_path):
    path = tmp_path / "noiend.png"
    path.write_bytes(png(2, 2, 8, 3, _INDEX_ROWS, [(b"PLTE", _PLTE)], iend=False))
    _expect(path, "IEND")


def test_jpeg_with_trailing_garbage_is_fine(tmp_path):
    img = smooth_image(48, 64, 3)
    data = encode_image(img, "jpg")
    path = tmp_path / "tail.jpg"
    path.write_bytes(data + b"\x00garbage after the end-of-image marker")
    assert psnr(read_image(path), img) > 35


def test_jpeg_with_exif_thumbnail_eoi_but_cut_scan(tmp_path):
    # an EOI inside the EXIF block (as in an embedded thumbnail) must not hide a cut-off scan
    data = encode_image(smooth_image(64, 64, 3), "jpg")
    body = b"Exif\x00\x00" + exif_tiff(1) + b"\xff\xd8\xff\xd9"
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]
    path = tmp_path / "thumb.jpg"
    path.write_bytes(data[: len(data) // 2])
    _expect(path, "cut short")


@pytest.mark.parametrize(("fmt", "c"), [("webp", 3), ("bmp", 3), ("tiff", 3)])
def test_truncated_other_formats(tmp_path, fmt, c):
    data = encode_image(smooth_image(32, 32, c), fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(data[: len(data) - 50])
    _expect(path, "cut short")


# --- pixel limit -----------------------------------------------------------------------------------


def _bomb() -> bytes:
    """A tiny PNG whose header claims 100000 x 100000 pixels."""
    return png(100_000, 100_000, 8, 0, [b"\x00" * 4])


def test_bomb_refused_fast_from_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_bomb())
    assert path.stat().st_size < 200
    t0 = time.perf_counter()
    err = _expect(path, "100000x100000", f"{DEFAULT_MAX_PIXELS:,}")
    assert time.perf_counter() - t0 < 0.5
    assert "limit" in err.reason


def test_default_limit_is_pillows():
    assert get_max_pixels() == 178_956_970


def test_limit_by_argument_setter_and_env(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    write_image(path, smooth_image(10, 10, 3))
    assert read_image(path).shape == (10, 10, 3)
    with pytest.raises(ImageReadError, match="over the limit of 99 pixels"):
        read_image(path, max_pixels=99)
    assert read_image(path, max_pixels=100).shape == (10, 10, 3)
    set_max_pixels(50)
    with pytest.raises(ImageReadError, match="limit of 50 pixels"):
        read_image(path)
    set_max_pixels(None)
    monkeypatch.setenv("GANEDIT_MAX_PIXELS", "64")
    assert get_max_pixels() == 64
    with pytest.raises(ImageReadError, match="limit of 64 pixels"):
        read_image(path)
    set_max_pixels(1000)  # the setter wins over the environment
    assert read_image(path).shape == (10, 10, 3)


def test_bad_limit_values(monkeypatch):
    with pytest.raises(ValueError, match="positive"):
        set_max_pixels(0)
    monkeypatch.setenv("GANEDIT_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="GANEDIT_MAX_PIXELS"):
        get_max_pixels()


# --- header probe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "c", "quality"),
    [
        ("png", 3, None),
        ("jpg", 3, None),
        ("webp", 3, None),  # VP8L
        ("webp", 3, 80),  # VP8
        ("webp", 4, 80),  # VP8X + ALPH
        ("bmp", 3, None),
        ("bmp", 1, None),
        ("tiff", 4, None),
    ],
)
def test_probe_reads_size_from_header(fmt, c, quality):
    data = encode_image(smooth_image(21, 37, c), fmt, quality=quality)
    info = probe_image(data)
    assert (info.width, info.height, info.format) == (37, 21, fmt)
    assert info.truncated is None


def test_probe_reads_webp_exif(tmp_path):
    data = encode_image(_marked(), "webp")  # VP8L; rebuild as VP8X with an EXIF chunk
    vp8l = data[12:]
    exif = exif_tiff(3)
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0])
    vp8x += (24 - 1).to_bytes(3, "little") + (16 - 1).to_bytes(3, "little")
    ex = b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\x00" if len(exif) % 2 else b"")
    body = b"WEBP" + vp8x + vp8l + ex
    webp = b"RIFF" + struct.pack("<I", len(body)) + body
    assert probe_image(webp).orientation == 3
    path = tmp_path / "rot.webp"
    path.write_bytes(webp)
    np.testing.assert_array_equal(read_image(path), _marked()[::-1, ::-1])


def test_decode_image_names_the_source():
    with pytest.raises(ImageReadError, match="'upload.png'.*empty"):
        decode_image(b"", name="upload.png")


def test_errors_survive_pickling_for_worker_pools():
    import pickle

    from ganedit.io import ImageWriteError

    err = pickle.loads(pickle.dumps(ImageReadError("a b.png", "the file is empty (0 bytes)")))
    assert (err.path, err.reason) == ("a b.png", "the file is empty (0 bytes)")
    assert "a b.png" in str(err)
    werr = pickle.loads(pickle.dumps(ImageWriteError("o.jpg", "no alpha")))
    assert (werr.path, werr.reason) == ("o.jpg", "no alpha")


def test_corrupt_body_after_valid_signature(tmp_path):
    data = bytearray(encode_image(smooth_image(16, 16, 3), "png"))
    idat = data.find(b"IDAT")
    data[idat + 4 : idat + 24] = b"\x00" * 20  # break the compressed data, keep the chunk walk
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    _expect(path, "PNG", "could not be decoded")
