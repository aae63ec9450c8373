"""The srgan inference form (plugins/ganedit_srgan/inference.py): the same function as the
trained SRResNet, for every scale, odd sizes, both layouts, and what ganedit.load runs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from ganedit_srgan.inference import SRResNetInference, polyphase_conv
from ganedit_srgan.networks import SRResNet
from torch import nn

import ganedit
from ganedit.weights import load_weights


def _random_net(scale: int, bn: bool = False, bicubic_skip: bool = True) -> SRResNet:
    torch.manual_seed(scale)
    net = SRResNet(scale, blocks=2, channels=8, bn=bn, bicubic_skip=bicubic_skip)
    with torch.no_grad():  # the bicubic-skip init zeroes the last conv: make it matter
        net.out.weight.normal_(0, 0.05)
        net.out.bias.normal_(0, 0.05)  # type: ignore[union-attr]
        for m in net.modules():
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(-0.5, 0.5)
    return net.eval()


@pytest.mark.parametrize("k", [1, 3, 5, 9])
@pytest.mark.parametrize("r", [2, 3])
def test_polyphase_conv_equals_the_conv_after_the_shuffle(k: int, r: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 3, k, padding=k // 2)
    poly = polyphase_conv(conv, r)
    u = torch.randn(2, 4 * r * r, 7, 5)
    ref = conv(F.pixel_shuffle(u, r))
    got = F.pixel_shuffle(poly(u), r)
    assert got.shape == ref.shape == (2, 3, 7 * r, 5 * r)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_polyphase_conv_refuses_what_it_cannot_rewrite() -> None:
    for conv in (
        nn.Conv2d(2, 2, 3, padding=1, stride=2),
        nn.Conv2d(2, 2, 3, padding=0),
        nn.Conv2d(2, 2, 4, padding=2),
        nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"),
    ):
        with pytest.raises(ValueError, match="unsupported"):
            polyphase_conv(conv, 2)


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("bn", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_inference_form_computes_the_trained_network(
    scale: int, bn: bool, channels_last: bool
) -> None:
    net = _random_net(scale, bn)
    x = torch.rand(2, 3, 13, 10)
    with torch.no_grad():
        ref = net(x)
        fast = SRResNetInference(net)
        if channels_last:
            fast = fast.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            x = x.contiguous(memory_format=torch.channels_last)
        got = fast(x)
    assert got.shape == ref.shape == (2, 3, 13 * scale, 10 * scale)
    assert ref.abs().max() > 0.1  # the rewritten tail does contribute
    torch.testing.assert_close(got, ref, atol=2e-5, rtol=1e-5)


def test_inference_form_without_the_bicubic_skip() -> None:
    net = _random_net(4, bicubic_skip=False)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(SRResNetInference(net)(x), net(x), atol=2e-5, rtol=1e-5)


def test_load_runs_the_inference_form_with_the_bundled_weights_pixels() -> None:
    # fp32 named: on a CPU with bf16, ``auto`` may measure bf16 faster (0.007 apart, seen in CI)
    editor = ganedit.load("srgan", device="cpu", precision="fp32")
    assert isinstance(editor.generator, SRResNetInference)
    state, _ = load_weights(editor.weights_path)
    trained = editor.family.build_generator("generator", editor.config)
    trained.load_state_dict({k.removeprefix("generator."): v.float() for k, v in state.items()})
    x = torch.rand(1, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = editor.family.predict(trained.eval(), {"image": x}, editor.config)
    got = editor.edit_tensor(x)
    assert got.shape == ref.shape == (1, 3, 96, 80)
    assert (got - ref).abs().max() <= 1e-4
