"""DCGAN networks (Radford, Metz & Chintala 2015, arXiv:1511.06434) for 32, 64 and 128 pixels.

Generator: the latent ``(N, z_dim, 1, 1)`` is projected by a 4x4 transposed convolution to a
4x4 map of ``ngf * 2**(k-1)`` channels, then ``k - 1`` stride-2 transposed convolutions (4x4
kernels, batch norm, ReLU) halve the channels and double the size, and a last stride-2
transposed convolution to ``channels`` with tanh gives the image; ``k = log2(image_size) - 2``
(3 for 32, 4 for 64 as in the paper, 5 for 128).

Discriminator: the mirror: stride-2 4x4 convolutions with LeakyReLU(0.2), batch norm on all but
the first, channels doubling from ``ndf`` down to a 4x4 map, then a 4x4 valid convolution to one
logit per image (no sigmoid: the losses take logits).

Departures from the paper: the generator emits tanh values in ``[-1, 1]``;
:meth:`ganedit_dcgan.family.DCGAN.predict` maps them to ``[0, 1]``. 32 and 128 pixels are
extrapolations of the paper's 64-pixel design (one block fewer / more). With spectral norm the
discriminator's convolutions are spectrally normalised and its batch norms dropped (Miyato et
al. 2018). Convolutions followed by batch norm have no bias (it would be cancelled).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganedit.nn import init_weights, spectral_norm_if

__all__ = ["Discriminator", "Generator", "num_blocks"]

SIZES = (32, 64, 128)


def num_blocks(image_size: int) -> int:
    """Number of stride-2 stages between 4x4 and ``image_size`` (3, 4 or 5)."""
    if image_size not in SIZES:
        raise ValueError(f"DCGAN image_size must be one of {SIZES}, got {image_size}")
    return int(math.log2(image_size)) - 2


class Generator(nn.Module):
    """DCGAN generator: ``(N, z_dim, 1, 1)`` float latent -> ``(N, C, S, S)`` float in ``[-1, 1]``.

    Args:
        image_size: output side ``S`` (32, 64 or 128).
        channels: output channels ``C`` (1 or 3).
        z_dim: latent size.
        ngf: channels of the last hidden layer (the paper's 128 for LSUN; 64 is common).
    """

    def __init__(self, image_size: int = 64, channels: int = 3, z_dim: int = 100, ngf: int = 64):
        super().__init__()
        k = num_blocks(image_size)
        ch = ngf * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(k - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.z_dim = z_dim
        init_weights(self, "normal", 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(N, z_dim, 1, 1)`` or ``(N, z_dim)`` float -> ``(N, C, S, S)`` in ``[-1, 1]``."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.main(z)


class Discriminator(nn.Module):
    """DCGAN discriminator: ``(N, C, S, S)`` float in ``[-1, 1]`` -> ``(N,)`` float logits.

    Args:
        image_size: input side ``S`` (32, 64 or 128).
        channels: input channels ``C`` (1 or 3).
        ndf: channels of the first layer (doubling per stage).
        spectral_norm: spectrally normalise every convolution and drop batch norm.
    """

    def __init__(
        self, image_size: int = 64, channels: int = 3, ndf: int = 64, spectral_norm: bool = False
    ):
        super().__init__()
        k = num_blocks(image_size)
        sn = spectral_norm
        layers: list[nn.Module] = [
            spectral_norm_if(sn, nn.Conv2d(channels, ndf, 4, 2, 1, bias=True)),
            nn.LeakyReLU(0.2, True),
        ]
        ch = ndf
        for _ in range(k - 1):
            layers += [spectral_norm_if(sn, nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=sn))]
            if not sn:
                layers += [nn.BatchNorm2d(ch * 2)]
            layers += [nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [spectral_norm_if(sn, nn.Conv2d(ch, 1, 4, 1, 0, bias=True))]
        self.main = nn.Sequential(*layers)
        init_weights(self, "normal", 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, C, S, S)`` float in ``[-1, 1]`` -> ``(N,)`` float logits."""
        return self.main(x).flatten()
