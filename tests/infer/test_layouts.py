"""Layout conversions between files and models (ganedit.infer.layouts)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganedit.infer import layouts
from ganedit.infer.run.jobs import resize_nearest


def test_split_and_merge_alpha() -> None:
    x = torch.rand(2, 4, 5, 6)
    colour, alpha = layouts.split_alpha(x)
    assert colour.shape == (2, 3, 5, 6) and alpha is not None and alpha.shape == (2, 1, 5, 6)
    assert torch.equal(layouts.merge_alpha(colour, alpha), x)
    big = layouts.merge_alpha(torch.rand(2, 3, 10, 12), torch.full((2, 1, 5, 6), 0.25))
    assert big.shape == (2, 4, 10, 12) and torch.allclose(big[:, 3], torch.tensor(0.25))
    assert layouts.split_alpha(torch.rand(1, 1, 3, 3))[1] is None
    with pytest.raises(ValueError, match="channels"):
        layouts.split_alpha(torch.rand(1, 5, 3, 3))


@pytest.mark.parametrize(
    "file_c, model_in, model_out, want",
    [(1, 3, 3, 1), (3, 3, 3, 3), (1, 1, 3, 3), (3, 1, 3, 3), (3, 1, 1, 3), (1, 1, 1, 1)],
)
def test_channel_rules(file_c: int, model_in: int, model_out: int, want: int) -> None:
    x = torch.rand(1, file_c, 4, 4)
    fed = layouts.to_model(x, model_in)
    assert fed.shape[1] == model_in
    y = torch.rand(1, model_out, 4, 4)
    assert layouts.from_model(y, file_c, model_in).shape[1] == want


def test_gray_for_gray_uses_luma() -> None:
    y = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(layouts.from_model(y, 1, 3), torch.tensor(0.299), atol=1e-3)


def test_integer_round_trip_keeps_16_bit() -> None:
    u16 = torch.randint(0, 65536, (1, 3, 4, 2), dtype=torch.int32)
    x = layouts.to_float(u16)
    assert x.shape == (1, 2, 3, 4) and x.max() <= 1
    assert torch.equal(layouts.to_integer(x, torch.int32), u16)
    u8 = torch.randint(0, 256, (2, 5, 5, 1), dtype=torch.uint8)
    assert torch.equal(layouts.to_integer(layouts.to_float(u8), torch.uint8), u8)


def test_resize_nearest() -> None:
    m = np.array([[True, False], [False, True]])
    big = resize_nearest(m, 4, 6)
    assert big.shape == (4, 6) and big[:2, :3].all() and not big[:2, 3:].any()
    assert np.array_equal(resize_nearest(big, 2, 2), m)
