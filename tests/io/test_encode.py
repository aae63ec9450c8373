"""Writing images: encoder settings, refusals, atomic writes, output format choice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from imgbytes import psnr, smooth_image

from ganedit.io import (
    ImageWriteError,
    decode_image,
    encode_image,
    output_format_for,
    probe_image,
    read_image,
    write_image,
)
from ganedit.io.atomic import TEMP_SUFFIX
from ganedit.io.errors import os_error_reason


def _leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_png_uses_opencv_default_parameters():
    img = smooth_image(32, 40, 3)
    ok, ref = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assert ok
    assert encode_image(img, "png") == ref.tobytes()


@pytest.mark.parametrize(
    "fmt", ["png", ".PNG", "jpg", "JPEG", ".jpe", "webp", "bmp", "tif", "TIFF"]
)
def test_format_names_and_suffixes(fmt):
    data = encode_image(smooth_image(8, 8, 3), fmt)
    expect = {"jpe": "jpg", "jpeg": "jpg", "tif": "tiff"}.get(fmt.lower().lstrip("."))
    assert probe_image(data).format == (expect or fmt.lower().lstrip("."))


def test_hxw_array_is_gray():
    img = smooth_image(8, 9, 1)[:, :, 0]
    out = decode_image(encode_image(img, "png"))
    assert out.shape == (8, 9, 1)
    np.testing.assert_array_equal(out[:, :, 0], img)


def test_jpeg_quality_default_95_and_setting():
    img = smooth_image(64, 64, 3)
    default = encode_image(img, "jpg")
    assert default == encode_image(img, "jpg", quality=95)
    low = encode_image(img, "jpg", quality=20)
    assert len(low) < len(default)
    assert psnr(decode_image(low), img) < psnr(decode_image(default), img)


def test_webp_default_lossless_quality_makes_lossy():
    img = smooth_image(64, 64, 4)
    img[:4, :4, 3] = 0  # colour under transparent pixels is kept too
    lossless = encode_image(img, "webp")
    np.testing.assert_array_equal(decode_image(lossless), img)
    lossy = encode_image(img, "webp", quality=60)
    out = decode_image(lossy)
    assert not np.array_equal(out, img) and psnr(out, img) > 30


@pytest.mark.parametrize(
    ("fmt", "img", "words"),
    [
        ("jpg", np.zeros((4, 4, 4), np.uint8), "alpha"),
        ("jpg", np.zeros((4, 4, 3), np.uint16), "16-bit"),
        ("webp", np.zeros((4, 4, 3), np.uint16), "16-bit"),
        ("bmp", np.zeros((4, 4, 1), np.uint16), "16-bit"),
        ("png", np.zeros((4, 4, 3), np.float32), "float32"),
        ("png", np.zeros((4, 4, 2), np.uint8), "shape"),
        ("png", np.zeros((0, 4, 3), np.uint8), "shape"),
        ("gif", np.zeros((4, 4, 3), np.uint8), "unknown image format"),
    ],
)
def test_encode_refuses_what_the_format_cannot_hold(fmt, img, words):
    with pytest.raises(ImageWriteError, match=words):
        encode_image(img, fmt)


@pytest.mark.parametrize("quality", [0, 101, 9.5, True])
def test_bad_quality(quality):
    with pytest.raises(ImageWriteError, match="quality"):
        encode_image(smooth_image(4, 4, 3), "jpg", quality=quality)


def test_bmp_alpha_is_written_when_asked_directly(tmp_path):
    img = smooth_image(6, 7, 4)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.bmp", img)), img)


def test_write_creates_folders_and_returns_path(tmp_path):
    target = tmp_path / "a" / "b c" / "ü.png"
    assert write_image(str(target), smooth_image(4, 4, 3)) == target
    assert target.is_file() and not _leftovers(tmp_path)


def test_write_replaces_existing_file(tmp_path):
    target = tmp_path / "x.png"
    write_image(target, np.zeros((4, 4, 3), np.uint8))
    write_image(target, np.full((4, 4, 3), 9, np.uint8))
    assert read_image(target).max() == 9


def test_atomic_write_leaves_no_temp_file_on_error(tmp_path):
    blocker = tmp_path / "taken.png"
    blocker.mkdir()  # the rename onto a folder fails after the temp file was written
    with pytest.raises(ImageWriteError, match="taken.png") as info:
        write_image(blocker, smooth_image(8, 8, 3))
    assert info.value.reason == "a folder of that name is in the way"
    assert not _leftovers(tmp_path)
    assert blocker.is_dir()


def test_unwritable_folder(tmp_path):
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    with pytest.raises(ImageWriteError, match="not-a-folder") as info:
        write_image(afile / "out.png", smooth_image(4, 4, 3))
    assert info.value.reason.startswith("the file could not be written (")  # ENOTDIR
    assert not _leftovers(tmp_path)


def test_os_error_reason_first_matching_kind_else_strerror():
    known = {FileNotFoundError: "gone", OSError: "any"}
    assert os_error_reason(FileNotFoundError(2, "No such file"), known, "read") == "gone"
    assert os_error_reason(PermissionError(13, "Denied"), known, "read") == "any"
    disk_full = OSError(28, "No space left on device")
    assert os_error_reason(disk_full, {}, "written") == (
        "the file could not be written (No space left on device)"
    )
    assert os_error_reason(OSError("odd"), {}, "read") == "the file could not be read (odd)"


def test_write_error_names_file_for_unfit_image(tmp_path):
    with pytest.raises(ImageWriteError, match="out.jpg.*alpha"):
        write_image(tmp_path / "out.jpg", smooth_image(4, 4, 4))
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix(tmp_path):
    with pytest.raises(ImageWriteError, match="suffix '.gif'"):
        write_image(tmp_path / "x.gif", smooth_image(4, 4, 3))


# --- output_format_for -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "req", "alpha", "depth", "ext", "warns"),
    [
        (".jpg", None, False, 8, ".jpg", False),
        (".JPG", None, False, 8, ".JPG", False),  # the input's spelling is kept
        (".jpeg", None, True, 8, ".png", True),
        (".png", None, True, 16, ".png", False),
        (".tif", None, True, 16, ".tif", False),
        (".webp", None, True, 8, ".webp", False),
        (".webp", None, False, 16, ".png", True),
        (".bmp", None, True, 8, ".png", True),
        (".bmp", None, False, 16, ".png", True),
        (".png", "jpg", False, 8, ".jpg", False),
        (".png", "JPEG", False, 8, ".jpeg", False),
        (".png", ".webp", False, 8, ".webp", False),
        (".png", "jpg", True, 8, ".png", True),  # explicit request still never drops alpha
        (".png", "jpg", False, 16, ".png", True),
        (".png", "tiff", True, 16, ".tiff", False),
        (".gif", None, False, 8, ".png", True),
    ],
)
def test_output_format_for(src, req, alpha, depth, ext, warns):
    got, warning = output_format_for(src, req, has_alpha=alpha, bit_depth=depth)
    assert got == ext
    assert (warning is not None) == warns
    if warns:
        assert "PNG" in warning


def test_output_format_warning_says_what_and_why():
    _, warning = output_format_for(".png", "jpg", has_alpha=True, bit_depth=16)
    assert "JPG" in warning and "alpha" in warning and "16-bit" in warning and "PNG" in warning


def test_output_format_unknown_request():
    with pytest.raises(ValueError, match="unknown output format 'gif'"):
        output_format_for(".png", "gif", has_alpha=False, bit_depth=8)
