"""SRResNet generator and SRGAN discriminator (Ledig et al., CVPR 2017, arXiv:1609.04802).

Departures from the paper, and why:

* **No batch normalisation in the generator by default** (``bn=False``). EDSR (Lim et al. 2017)
  showed BN in SR residual blocks costs PSNR and memory and causes artefacts (colour shifts,
  brightness blotches) when test statistics differ from training ones, e.g. on tiles. The
  paper's BN variant is kept behind ``bn=True``.
* **PReLU kept** (one slope per channel, as in the paper) after the first conv, inside each
  block and after each PixelShuffle.
* **Residual scaling** (``res_scale``, default 1.0 = the paper): EDSR's 0.1 for deep/wide nets.
* **Inputs and outputs in [0, 1]** rather than the paper's [-1, 1] output / [0, 1] input;
  :meth:`SRResNet.forward` returns unclamped values, the family's ``predict`` clamps to [0, 1].
* **Bicubic-residual global skip** (``bicubic_skip=True``, an addition): the output is
  ``bicubic_upsample(x) + net(x)``, with the last conv initialised to zero so an untrained
  generator *is* bicubic interpolation. The network only learns the missing high-frequency
  residual, which converges in a few thousand CPU steps on a small photo set instead of the
  paper's 10^6 GPU iterations. Turn it off for the paper's plain generator.
* **Discriminator**: the paper's VGG-style net (8 convs, 64->512 channels, stride 2 every
  other conv, LeakyReLU 0.2) but with a global average pool before the dense layers, so it
  accepts any crop size instead of only 96x96; optional spectral norm (Miyato et al. 2018)
  replaces BN when enabled.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganedit.nn import spectral_norm_if

__all__ = ["ResidualBlock", "SRResNet", "SRGANDiscriminator"]


class ResidualBlock(nn.Module):
    """conv3x3 -> [BN] -> PReLU -> conv3x3 -> [BN], added to the input (times ``res_scale``)."""

    def __init__(self, channels: int, *, bn: bool = False, res_scale: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1, bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.PReLU(channels))
        layers.append(nn.Conv2d(channels, channels, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        self.body = nn.Sequential(*layers)
        self.res_scale = float(res_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``(N, C, H, W)`` float features -> same shape."""
        return x + self.body(x) * self.res_scale


class SRResNet(nn.Module):
    """The SRGAN generator: head conv, ``blocks`` residual blocks, trunk skip, PixelShuffle x2
    stages (one for scale 2, two for scale 4), output conv.

    Args:
        scale: 2 or 4.
        blocks: residual blocks (paper: 16).
        channels: feature channels (paper: 64).
        in_channels: image channels (3 = RGB).
        bn: batch norm inside the blocks (paper: True; default False, see the module doc).
        res_scale: residual scaling per block (1.0 = paper).
        bicubic_skip: add the bicubic upsampled input to the output (see the module doc).
    """

    def __init__(
        self,
        scale: int = 4,
        blocks: int = 16,
        channels: int = 64,
        in_channels: int = 3,
        *,
        bn: bool = False,
        res_scale: float = 1.0,
        bicubic_skip: bool = True,
    ) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"SRResNet: scale must be 2 or 4, got {scale}")
        self.scale = int(scale)
        self.bicubic_skip = bool(bicubic_skip)
        self.head = nn.Sequential(
            nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU(channels)
        )
        self.body = nn.Sequential(
            *[ResidualBlock(channels, bn=bn, res_scale=res_scale) for _ in range(blocks)]
        )
        tail: list[nn.Module] = [nn.Conv2d(channels, channels, 3, padding=1, bias=not bn)]
        if bn:
            tail.append(nn.BatchNorm2d(channels))
        self.body_tail = nn.Sequential(*tail)
        ups: list[nn.Module] = []
        for _ in range({2: 1, 4: 2}[self.scale]):
            ups += [
                nn.Conv2d(channels, channels * 4, 3, padding=1),
                nn.PixelShuffle(2),
                nn.PReLU(channels),
            ]
        self.upsample = nn.Sequential(*ups)
        self.out = nn.Conv2d(channels, in_channels, 9, padding=4)
        if self.bicubic_skip:
            nn.init.zeros_(self.out.weight)
            assert self.out.bias is not None
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale.

        Args:
            x: ``(N, C, H, W)`` float, values in [0, 1].

        Returns:
            ``(N, C, H * scale, W * scale)`` float, roughly [0, 1] and *not* clamped (training
            losses see the raw values; ``predict`` clamps).
        """
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        y = self.out(self.upsample(feat))
        if self.bicubic_skip:
            y = y + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return y


class SRGANDiscriminator(nn.Module):
    """The SRGAN discriminator (VGG style), any input size.

    Args:
        in_channels: image channels.
        channels: width of the first conv (paper: 64; doubles every two convs up to 8x).
        spectral_norm: wrap every conv/linear in spectral norm and drop BN.
    """

    def __init__(
        self, in_channels: int = 3, channels: int = 64, *, spectral_norm: bool = False
    ) -> None:
        super().__init__()
        widths = [
            channels,
            channels,
            channels * 2,
            channels * 2,
            channels * 4,
            channels * 4,
            channels * 8,
            channels * 8,
        ]
        layers: list[nn.Module] = []
        prev = in_channels
        for i, w in enumerate(widths):
            stride = 2 if i % 2 == 1 else 1
            layers.append(
                spectral_norm_if(spectral_norm, nn.Conv2d(prev, w, 3, stride=stride, padding=1))
            )
            if i > 0 and not spectral_norm:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev = w
        self.features = nn.Sequential(*layers)
        hidden = channels * 16
        self.classifier = nn.Sequential(
            spectral_norm_if(spectral_norm, nn.Linear(prev, hidden)),
            nn.LeakyReLU(0.2, inplace=True),
            spectral_norm_if(spectral_norm, nn.Linear(hidden, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``(N, C, H, W)`` float in [0, 1] (HR or SR) -> ``(N, 1)`` real/fake logits."""
        f = self.features(x * 2 - 1)
        f = F.adaptive_avg_pool2d(f, 1).flatten(1)
        return self.classifier(f)
