"""The one mask convention: ganedit.io.mask_from_pixels / mask_from_alpha / read_mask."""

from __future__ import annotations

import numpy as np
import pytest

from ganedit.io import ImageReadError, mask_from_alpha, mask_from_pixels, read_mask, write_image


def _row(*pixels) -> np.ndarray:
    """A 1 x len(pixels) image from per-pixel channel tuples (or scalars)."""
    return np.array([list(pixels)])


def test_gray_uint8_is_bright_above_127():
    gray = np.array([[0, 127, 128, 255]], np.uint8)
    want = [[False, False, True, True]]
    assert mask_from_pixels(gray).tolist() == want
    assert mask_from_pixels(gray[..., None]).tolist() == want
    assert mask_from_pixels(gray).dtype == np.bool_ and mask_from_pixels(gray).shape == (1, 4)


def test_rgb_any_colour_channel():
    rgb = _row((0, 0, 0), (200, 0, 0), (0, 0, 128), (127, 127, 127)).astype(np.uint8)
    assert mask_from_pixels(rgb).tolist() == [[False, True, True, False]]


def test_alpha_of_a_mask_image_is_ignored():
    rgba = _row((0, 0, 0, 0), (255, 255, 255, 0), (0, 0, 0, 255), (255, 0, 0, 255))
    assert mask_from_pixels(rgba.astype(np.uint8)).tolist() == [[False, True, False, True]]
    gray_alpha = _row((0, 255), (255, 0)).astype(np.uint8)
    assert mask_from_pixels(gray_alpha).tolist() == [[False, True]]


def test_uint16_half_range():
    g16 = np.array([[0, 32767, 32768, 65535]], np.uint16)
    assert mask_from_pixels(g16).tolist() == [[False, False, True, True]]
    rgba16 = _row((0, 0, 40000, 0), (0, 0, 0, 65535)).astype(np.uint16)
    assert mask_from_pixels(rgba16).tolist() == [[True, False]]


def test_bool_as_is_and_float_above_half():
    b = np.array([[True, False], [False, True]])
    assert np.array_equal(mask_from_pixels(b), b)
    assert np.array_equal(mask_from_pixels(b[..., None]), b)
    f = np.array([[0.0, 0.5, 0.51, 1.0]], np.float32)
    assert mask_from_pixels(f).tolist() == [[False, False, True, True]]
    assert mask_from_pixels(f.astype(np.float64)[..., None]).tolist() == [[0, 0, 1, 1]]
    frgba = _row((0.0, 0.0, 0.0, 1.0), (0.0, 0.9, 0.0, 0.0)).astype(np.float32)
    assert mask_from_pixels(frgba).tolist() == [[False, True]]


@pytest.mark.parametrize(
    "arr, words",
    [
        (np.zeros((2, 2), np.int32), ["int32", "(2, 2)"]),
        (np.zeros((2, 2, 5), np.uint8), ["uint8", "(2, 2, 5)"]),
        (np.zeros((2,), np.uint8), ["(2,)"]),
        (np.zeros((1, 2, 2), np.complex64), ["complex64"]),
    ],
)
def test_other_dtypes_and_shapes_are_refused(arr, words):
    with pytest.raises(ValueError) as info:
        mask_from_pixels(arr)
    for w in words:
        assert w in str(info.value)


def test_mask_from_alpha():
    rgba = _row((255, 255, 255, 0), (0, 0, 0, 0), (9, 9, 9, 1), (9, 9, 9, 255)).astype(np.uint8)
    assert mask_from_alpha(rgba).tolist() == [[True, True, False, False]]
    assert mask_from_alpha(_row((5, 0), (5, 7)).astype(np.uint16)).tolist() == [[True, False]]
    assert mask_from_alpha(np.zeros((2, 2, 3), np.uint8)) is None
    assert mask_from_alpha(np.zeros((2, 2, 1), np.uint8)) is None
    assert mask_from_alpha(np.zeros((2, 2), np.uint8)) is None


def test_read_mask_files(tmp_path):
    gray = np.array([[0, 127], [128, 255]], np.uint8)[..., None]
    write_image(tmp_path / "g.png", gray)
    assert read_mask(tmp_path / "g.png").tolist() == [[False, False], [True, True]]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 255, 255, 0)  # bright but transparent: fill (alpha ignored)
    rgba[0, 1] = (0, 0, 0, 0)  # dark and transparent: keep
    rgba[1, 0] = (0, 200, 0, 255)
    write_image(tmp_path / "a.png", rgba)
    assert read_mask(tmp_path / "a.png").tolist() == [[True, False], [True, False]]
    g16 = np.array([[32767, 32768]], np.uint16)[..., None]
    write_image(tmp_path / "d.png", g16)
    m = read_mask(str(tmp_path / "d.png"))
    assert m.tolist() == [[False, True]] and m.dtype == np.bool_


def test_read_mask_names_a_bad_file(tmp_path):
    bad = tmp_path / "hole mask.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken")
    with pytest.raises(ImageReadError, match="hole mask.png"):
        read_mask(bad)
    with pytest.raises(ImageReadError, match="missing.png"):
        read_mask(tmp_path / "missing.png")
