"""Discriminators shared by model families."""

from __future__ import annotations

import torch
from torch import nn

from ganedit.nn.layers import conv_norm_act, spectral_norm_if

__all__ = ["PatchDiscriminator", "receptive_field"]


def _conv_stack(layers: int) -> list[tuple[int, int]]:
    """``(kernel, stride)`` of every convolution of ``PatchDiscriminator(layers=layers)``.

    Raises:
        ValueError: ``layers < 1``.
    """
    if layers < 1:
        raise ValueError(f"PatchDiscriminator needs layers >= 1, got {layers}")
    first = [(4, 2)]
    middle = [(4, 2 if n < layers else 1) for n in range(1, layers + 1)]
    return first + middle + [(4, 1)]


def receptive_field(layers: int = 3) -> int:
    """Side in pixels of the input patch that one :class:`PatchDiscriminator` logit sees.

    Computed from the convolution stack, output to input: a window of ``r`` positions after a
    ``k x k`` conv with stride ``s`` covers ``(r - 1) * s + k`` positions before it.

    Args:
        layers: the discriminator's ``layers`` argument (>= 1).

    Returns:
        The patch side: 70 for ``layers=3`` (pix2pix default), 34 for 2, 16 for 1.
    """
    side = 1
    for kernel, stride in reversed(_conv_stack(layers)):
        side = (side - 1) * stride + kernel
    return side


class PatchDiscriminator(nn.Module):
    """The pix2pix PatchGAN discriminator (Isola et al. 2017).

    With the defaults (``layers=3``) each output logit sees a 70x70 patch of the input (see
    :func:`receptive_field`). Layout:
    ``C64 - C128 - C256 - C512(stride 1) - 1``, 4x4 convolutions, LeakyReLU(0.2), no norm on
    the first layer.

    Args:
        in_channels: input channels (for a conditional GAN: input and output concatenated,
            e.g. 6 for RGB->RGB).
        base: channels of the first layer (64 in the paper).
        layers: stride-2 layers after the first (3 -> 70x70 patches, 1 -> 16x16, 0 -> 1x1
            "PixelGAN" uses 1x1 convs instead and is not offered here).
        norm: ``"batch"`` (paper), ``"instance"`` (CycleGAN) or ``"none"``.
        spectral: wrap every convolution in spectral normalisation.

    Input: ``(N, in_channels, H, W)`` float32, any range (``[-1, 1]`` or ``[0, 1]``), H and W at
    least ``2 ** (layers + 1) + 2``.
    Output: ``(N, 1, h, w)`` float32 logits, unbounded (no sigmoid; use :func:`ganedit.nn.gan_loss`),
    ``h ~ H / 2 ** layers - 2``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base: int = 64,
        layers: int = 3,
        norm: str = "batch",
        spectral: bool = False,
    ) -> None:
        super().__init__()
        (k, stride), *middle, last = _conv_stack(layers)  # the table receptive_field reads
        p, use_bias = 1, norm != "batch"
        mods: list[nn.Module] = [
            spectral_norm_if(spectral, nn.Conv2d(in_channels, base, k, stride, p)),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n, (k, stride) in enumerate(middle, start=1):
            prev, mult = mult, min(2**n, 8)
            conv = nn.Conv2d(base * prev, base * mult, k, stride, p, bias=use_bias)
            mods += conv_norm_act(spectral_norm_if(spectral, conv), norm, nn.LeakyReLU(0.2, True))
        k, stride = last
        mods.append(spectral_norm_if(spectral, nn.Conv2d(base * mult, 1, k, stride, p)))
        self.model = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score every patch of a batch.

        Args:
            x: ``(N, in_channels, H, W)`` float32, any range.

        Returns:
            ``(N, 1, h, w)`` float32 logits (real > fake), ``h ~ H / 2 ** layers - 2``.
        """
        return self.model(x)
