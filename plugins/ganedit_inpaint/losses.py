"""Losses of the ``inpaint`` family.

LaMa trains with L1 on the known pixels, a non-saturating adversarial loss with an R1 penalty,
discriminator feature matching, and a *high receptive field perceptual loss* computed with a
pretrained ADE20k segmentation ResNet. That network cannot be had offline (ganedit downloads
nothing), so this module offers what works without one:

* :func:`fft_amplitude_loss`: L1 between the amplitude spectra of the output and the target
  (2-D real FFT over the whole image, ``norm="ortho"``). Like the perceptual loss it looks at
  the image as a whole and rewards restoring texture energy at every frequency, which plain
  L1 (which prefers a blurry mean) does not; it costs one FFT per image.
* :func:`masked_l1`: L1 restricted to a region (the hole, or the known pixels).
* :func:`feature_matching`: L1 between the discriminator's features of the output and of the
  real image (LaMa, after pix2pixHD).
* :func:`mask_gan_losses`: the discriminator's loss with the mask as its label map (fake in the
  hole, real outside, as LaMa does) and the generator's non-saturating loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "feature_matching",
    "fft_amplitude_loss",
    "generator_adversarial",
    "mask_gan_losses",
    "masked_l1",
]


def masked_l1(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over ``region``.

    Args:
        a: ``(N, C, H, W)`` float.
        b: ``(N, C, H, W)`` float.
        region: ``(N, 1, H, W)`` float in {0, 1}: the pixels that count.

    Returns:
        A float32 scalar: ``sum(|a - b| * region) / (C * sum(region))`` (0 for an empty region).
    """
    diff = (a.float() - b.float()).abs() * region
    return diff.sum() / (region.sum() * a.shape[1]).clamp_min(1.0)


def fft_amplitude_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between the 2-D FFT amplitude spectra of two image batches (offline perceptual
    replacement; module docstring).

    Args:
        a: ``(N, C, H, W)`` float in [0, 1] (the estimate).
        b: ``(N, C, H, W)`` float in [0, 1] (the reference).

    Returns:
        A float32 scalar, the mean over batch, channels and frequencies.
    """
    with torch.autocast(device_type=a.device.type, enabled=False):
        fa = torch.fft.rfftn(a.float(), dim=(-2, -1), norm="ortho").abs()
        fb = torch.fft.rfftn(b.float(), dim=(-2, -1), norm="ortho").abs()
        return (fa - fb).abs().mean()


def feature_matching(fake: Sequence[torch.Tensor], real: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the L1 distance between discriminator features.

    Args:
        fake: per-layer features ``(N, C_i, h_i, w_i)`` of the generated image.
        real: the same layers for the real image (detached here).

    Returns:
        A float32 scalar.
    """
    losses = [
        (f.float() - r.detach().float()).abs().mean() for f, r in zip(fake, real, strict=True)
    ]
    return torch.stack(losses).mean()


def _label_map(mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The fraction of each logit's cell that is hole: ``(N, 1, h, w)`` in [0, 1]."""
    h, w = logits.shape[-2:]
    return F.adaptive_avg_pool2d(mask.float(), (int(h), int(w)))


def mask_gan_losses(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The discriminator's loss: real images real everywhere; in a filled image, the hole
    fake and the known pixels real (non-saturating cross-entropy with a soft label map).

    Args:
        real_logits: ``(N, 1, h, w)`` logits of the real images.
        fake_logits: ``(N, 1, h, w)`` logits of the filled images (generator detached).
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.

    Returns:
        A float32 scalar.
    """
    real = F.binary_cross_entropy_with_logits(
        real_logits.float(), torch.ones_like(real_logits, dtype=torch.float32)
    )
    target = 1.0 - _label_map(mask, fake_logits)
    fake = F.binary_cross_entropy_with_logits(fake_logits.float(), target)
    return real + fake


def generator_adversarial(fake_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating loss, counted where the logit cells hold hole pixels.

    Args:
        fake_logits: ``(N, 1, h, w)`` logits of the filled images.
        mask: ``(N, 1, H, W)`` float in {0, 1}, 1 = hole.

    Returns:
        A float32 scalar: ``mean(softplus(-logits) * w) / mean(w)``, ``w`` the hole fraction.
    """
    w = _label_map(mask, fake_logits)
    loss = F.softplus(-fake_logits.float()) * w
    return loss.sum() / w.sum().clamp_min(1e-6)
