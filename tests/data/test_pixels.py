"""ganedit.data.pixels: HWC arrays -> (C, H, W) uint8, channel conversion, uint8 resizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganedit.data import DatasetError
from ganedit.data.pixels import mask_to_chw, pair, resize_u8, to_chw


def test_channel_conversions():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 100
    rgb[..., 1] = 200
    t = to_chw(rgb, 3, "x")
    assert t.shape == (3, 2, 3) and t.dtype == torch.uint8 and t[1].unique().tolist() == [200]
    gray = to_chw(rgb, 1, "x")
    assert gray.shape == (1, 2, 3) and gray.unique().tolist() == [round(0.299 * 100 + 0.587 * 200)]
    g = np.full((2, 2), 7, np.uint8)
    assert to_chw(g, 3, "x").shape == (3, 2, 2) and to_chw(g, 3, "x").unique().tolist() == [7]
    rgba = np.dstack([rgb, np.zeros((2, 3), np.uint8)])
    assert torch.equal(to_chw(rgba, 3, "x"), t)  # alpha dropped
    ga = np.dstack([g, np.full((2, 2), 255, np.uint8)])
    assert to_chw(ga, 1, "x").shape == (1, 2, 2)


def test_uint16_keeps_the_high_byte_and_bad_types_name_the_file():
    g16 = np.full((2, 2, 1), 0xAB12, np.uint16)
    assert to_chw(g16, 1, "x").unique().tolist() == [0xAB]
    with pytest.raises(DatasetError, match="pic.tif: unsupported pixel type float32"):
        to_chw(np.zeros((2, 2, 3), np.float32), 3, "pic.tif")
    with pytest.raises(DatasetError, match="pic.png: cannot convert 3 channels to 2"):
        to_chw(np.zeros((2, 2, 3), np.uint8), 2, "pic.png")


def test_resize_shorter_side_exact_and_nearest_masks():
    t = torch.randint(0, 256, (3, 10, 20), dtype=torch.uint8)
    assert resize_u8(t, 5).shape == (3, 5, 10)
    assert resize_u8(t, (7, 9)).shape == (3, 7, 9)
    assert resize_u8(t, None) is t and resize_u8(t, 10) is t
    assert resize_u8(t[None], 5).shape == (1, 3, 5, 10)
    m = mask_to_chw(np.random.default_rng(0).random((10, 20)) > 0.5)
    r = resize_u8(m, 13, mask=True)
    assert r.dtype == torch.uint8 and set(r.unique().tolist()) <= {0, 255}
    assert pair(4) == (4, 4) and pair((2, 3)) == (2, 3) and pair(None) is None
