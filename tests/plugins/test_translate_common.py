"""The content terms the unpaired families share (``ganedit_translate.common``)."""

from __future__ import annotations

import pytest
import torch
from ganedit_translate.common import _blur, content_contrast_loss, content_terms
from ganedit_translate.cut import CUTConfig


def _inputs(n: int = 6, seed: int = 0) -> torch.Tensor:
    """``n`` different smooth gray images in [0, 1] (a bright box in a different place)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, 32, 32), 0.2)
    for i in range(n):
        r, c = torch.randint(0, 20, (2,), generator=gen).tolist()
        x[i, :, r : r + 12, c : c + 12] = 0.9
    return x


def test_contrast_rewards_own_input_over_others() -> None:
    x = _inputs()
    empty = torch.zeros((0, 1, 32, 32))
    own = content_contrast_loss(x, x, empty, 2.0, 0.02)
    swapped = content_contrast_loss(x.roll(1, 0), x, empty, 2.0, 0.02)
    ignored = content_contrast_loss(x.mean(0, keepdim=True).expand_as(x), x, empty, 2.0, 0.02)
    assert float(own) < 0.05  # every pair won by a wide margin
    assert float(swapped) > 5.0  # each output is another's input: lost pairs, ~|margin| / tau
    assert float(own) < float(ignored) < float(swapped)  # the same output for all: in between


def test_contrast_asks_for_no_likeness_only_for_more_than_to_others() -> None:
    """Outputs far from their inputs (a constant shift) lose nothing while still nearer their
    own input than any other: unlike L1, the term leaves room to change the picture."""
    x = _inputs()
    empty = torch.zeros((0, 1, 32, 32))
    shifted = (x + 0.5).clamp(0, 1) * 0.8
    loss = content_contrast_loss(shifted, x, empty, 2.0, 0.02)
    assert float(loss) < 0.2
    assert float((shifted - x).abs().mean()) > 0.2


def test_contrast_uses_the_bank_and_needs_a_negative() -> None:
    """The bank holds blurred earlier inputs: an output equal to one of them loses."""
    x = _inputs(4)
    one = x[:1]
    assert float(content_contrast_loss(one, one, torch.zeros((0, 1, 32, 32)), 2.0, 0.02)) == 0.0
    stored = _blur(x[1:], 2.0)
    won = content_contrast_loss(one, one, stored, 2.0, 0.02)
    lost = content_contrast_loss(x[1:2], one, stored, 2.0, 0.02)
    assert float(won) < 0.05 < 1.0 < float(lost)


def test_contrast_gradient_moves_the_output_toward_its_own_input() -> None:
    x = _inputs(4)
    out = x.roll(1, 0).clone().requires_grad_(True)
    content_contrast_loss(out, x, torch.zeros((0, 1, 32, 32)), 2.0, 0.05).backward()
    assert out.grad is not None
    stepped = out.detach() - 50.0 * out.grad
    before = (out.detach() - x).abs().mean()
    assert float((stepped - x).abs().mean()) < float(before)


def test_content_terms_fill_the_bank_newest_first_up_to_its_size() -> None:
    cfg = CUTConfig(content_contrast=1.0, content_bank=5)
    state: dict[str, torch.Tensor] = {}
    batches = [_inputs(2, seed=s) for s in range(4)]
    for x in batches:
        loss, reported = content_terms(cfg, state, "b2a", x, x)
        assert float(loss) == pytest.approx(float(reported))  # weight 1, L1 term off
    bank = state["content_bank_b2a"]
    assert bank.shape == (5, 1, 32, 32) and "content_bank_a2b" not in state
    assert torch.allclose(bank[:2], _blur(batches[-1], 2.0))  # newest first


def test_content_terms_are_off_by_default() -> None:
    state: dict[str, torch.Tensor] = {}
    x = _inputs(2)
    loss, reported = content_terms(CUTConfig(), state, "a2b", x.roll(1, 0), x)
    assert float(loss) == 0.0 == float(reported) and state == {}
