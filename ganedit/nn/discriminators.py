"""Discriminators shared by model families."""

from __future__ import annotations

import torch
from torch import nn

from ganedit.nn.layers import norm_layer, spectral_norm_if

__all__ = ["PatchDiscriminator"]


class PatchDiscriminator(nn.Module):
    """The pix2pix PatchGAN discriminator (Isola et al. 2017).

    With the defaults (``layers=3``) each output logit sees a 70x70 patch of the input. Layout:
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

    Input: ``(N, in_channels, H, W)`` float, any range (``[-1, 1]`` or ``[0, 1]``), H and W at
    least ``2 ** (layers + 1) + 2``.
    Output: ``(N, 1, h, w)`` float logits (no sigmoid; use :func:`ganedit.nn.gan_loss`),
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
        if layers < 1:
            raise ValueError(f"PatchDiscriminator needs layers >= 1, got {layers}")
        use_bias = norm != "batch"
        k, p = 4, 1
        mods: list[nn.Module] = [
            spectral_norm_if(spectral, nn.Conv2d(in_channels, base, k, 2, p)),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < layers else 1
            mods += [
                spectral_norm_if(
                    spectral, nn.Conv2d(base * prev, base * mult, k, stride, p, bias=use_bias)
                ),
                norm_layer(norm, base * mult),
                nn.LeakyReLU(0.2, True),
            ]
        mods.append(spectral_norm_if(spectral, nn.Conv2d(base * mult, 1, k, 1, p)))
        self.model = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` float -> ``(N, 1, h, w)`` float logits."""
        return self.model(x)
