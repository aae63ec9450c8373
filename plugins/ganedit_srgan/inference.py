"""An inference-only form of :class:`~ganedit_srgan.networks.SRResNet`: the same function,
arranged so that the full-resolution end runs at a quarter of the pixels.

The last stage of the trained network is ``conv(C -> 4C) -> PixelShuffle(2) -> PReLU(C) ->
conv9x9(C -> 3)`` at the output size. On the CPU its last two steps are the slowest part of an
x4 forward (``benchmarks/bench_upscale_folder.py``): the PReLU and the shuffle only move memory,
and a 9x9 convolution with 3 output channels uses the vector units badly (59 GFLOP/s against
137 for the other convolutions, on the project's 2-core CPU). Both are exact rewrites:

* a per-channel PReLU commutes with the shuffle when each slope is repeated for the ``r*r``
  channels that land on its output channel, so it runs before the shuffle;
* a ``k x k`` convolution of ``PixelShuffle(r)(u)`` is a convolution of ``u`` itself with
  ``r*r`` times the output channels (one per output phase) and a ``ceil(k/r)``-ish kernel
  (:func:`polyphase_conv`), followed by ``PixelShuffle(r)`` of its small output.

For the bundled x4 weights (32 channels) the rewritten tail does 4.7 % more multiply-accumulates
and takes 0.23 s instead of 0.39 s per 256x256 input on that CPU; outputs agree to float
rounding (``tests/plugins/test_srgan_inference.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganedit_srgan.networks import SRResNet

__all__ = ["SRResNetInference", "polyphase_conv"]


def polyphase_conv(conv: nn.Conv2d, r: int) -> nn.Conv2d:
    """The convolution of ``u`` that, followed by ``PixelShuffle(r)``, equals ``conv`` applied to
    ``PixelShuffle(r)(u)``.

    Args:
        conv: a stride-1, dilation-1, ungrouped ``nn.Conv2d`` with an odd square kernel ``k``,
            zero padding ``k // 2`` (``"same"``), ``C`` input and ``O`` output channels.
        r: the shuffle factor.

    Returns:
        An ``nn.Conv2d(C * r * r, O * r * r, k2, padding=k2 // 2)``: input ``(N, C*r*r, h, w)``
        (the tensor before the shuffle), output ``(N, O*r*r, h, w)``, whose
        ``PixelShuffle(r)`` is ``(N, O, r*h, r*w)``. Output channel ``o*r*r + a*r + b`` holds
        the output pixels ``(r*i + a, r*j + b)`` of channel ``o``.

    Raises:
        ValueError: ``conv`` is not of the supported kind.
    """
    k = conv.kernel_size[0]
    if (
        conv.kernel_size != (k, k)
        or k % 2 == 0
        or conv.stride != (1, 1)
        or conv.dilation != (1, 1)
        or conv.groups != 1
        or conv.padding != (k // 2, k // 2)
        or conv.padding_mode != "zeros"
    ):
        raise ValueError(f"polyphase_conv: unsupported convolution {conv}")
    p = k // 2
    lo, hi = -p // r, (r - 1 + p) // r  # offsets (in input pixels) any output phase reads
    k2 = hi - lo + 1
    if -lo != hi:
        raise ValueError(f"polyphase_conv: kernel {k} with factor {r} needs asymmetric padding")
    o, c = conv.out_channels, conv.in_channels
    w = conv.weight.detach().float()
    w2 = w.new_zeros(o, r, r, c, r, r, k2, k2)
    for a in range(r):
        for dy in range(k):
            py, q = divmod(a + dy - p, r)
            for b in range(r):
                for dx in range(k):
                    px, t = divmod(b + dx - p, r)
                    w2[:, a, b, :, q, t, py - lo, px - lo] += w[:, :, dy, dx]
    out = nn.Conv2d(c * r * r, o * r * r, k2, padding=hi, bias=conv.bias is not None)
    with torch.no_grad():
        out.weight.copy_(w2.reshape(o * r * r, c * r * r, k2, k2))
        if conv.bias is not None:
            out.bias.copy_(conv.bias.detach().float().repeat_interleave(r * r))  # type: ignore[union-attr]
    return out.to(conv.weight.device)


class SRResNetInference(nn.Module):
    """:class:`SRResNet`'s function with its last stage rewritten (module docstring).

    Built from a trained network (its modules are shared, not copied); for inference only:
    weights files keep the training layout, so never save or train this one.

    Args:
        net: the trained :class:`SRResNet`.

    Input ``(N, C, H, W)`` float in [0, 1]; output ``(N, C, scale*H, scale*W)`` float, the
    same values as ``net(x)`` up to float rounding (unclamped, as ``net``'s).
    """

    def __init__(self, net: SRResNet) -> None:
        super().__init__()
        stages = list(net.upsample)
        last_prelu = stages[-1]
        if not (isinstance(stages[-2], nn.PixelShuffle) and isinstance(last_prelu, nn.PReLU)):
            raise ValueError("SRResNetInference: the network does not end in shuffle + PReLU")
        r = int(stages[-2].upscale_factor)
        self.scale, self.bicubic_skip, self.r = net.scale, net.bicubic_skip, r
        self.head, self.body, self.body_tail = net.head, net.body, net.body_tail
        self.upsample = nn.Sequential(*stages[:-2])  # ends in the last conv(C -> C*r*r)
        channels = last_prelu.num_parameters
        self.prelu = nn.PReLU(channels * r * r)
        with torch.no_grad():
            self.prelu.weight.copy_(last_prelu.weight.detach().float().repeat_interleave(r * r))
        self.prelu.to(last_prelu.weight.device)
        self.out = polyphase_conv(net.out, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, C, scale*H, scale*W)`` (see the class docstring)."""
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        y = F.pixel_shuffle(self.out(self.prelu(self.upsample(feat))), self.r)
        if self.bicubic_skip:
            y = y + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return y
