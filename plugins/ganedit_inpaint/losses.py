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
* :func:`lowpass_l1`: L1 between ``factor`` x ``factor`` cell means in the hole: a pixel loss
  only on the frequencies that the context predicts (LaMa puts no pixel loss in the hole;
  a per-pixel loss on the hole's fine detail is minimised by its mean, i.e. a blur).
* :func:`texture_energy_loss`: L1 between *local gradient energies* (mean Sobel magnitude per
  cell, at several scales) of the output and the target in the hole: the offline stand-in for
  LaMa's perceptual loss. It asks for as much detail as the real image has, cell by cell and
  scale by scale, without asking where each edge lies (which a pixel loss would, and which
  the context cannot tell), so a blur is penalised and texture is not.
* :func:`local_spectrum_loss`: L1 between the amplitude spectra of small windows (Hann-
  tapered) of the output and the target, weighted by the hole they hold: texture matched
  frequency by frequency and orientation by orientation, without its phase (so, unlike a
  pixel loss, not regressed to a blur); a periodic pattern (the 8 px lattice of a transposed
  decoder) puts peaks in the window spectra that a photo's texture lacks, and pays for them,
  where the texture-energy loss, a single number per cell, is paid by any pattern.
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
    "gradient_magnitude",
    "local_spectrum_loss",
    "lowpass_l1",
    "mask_gan_losses",
    "masked_l1",
    "texture_energy_loss",
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


def lowpass_l1(
    a: torch.Tensor, b: torch.Tensor, region: torch.Tensor, factor: int = 8
) -> torch.Tensor:
    """L1 between the ``factor`` x ``factor`` cell means of ``a`` and ``b``, weighted by the
    share of each cell that lies in ``region``.

    Args:
        a: ``(N, C, H, W)`` float in [0, 1] (the estimate).
        b: ``(N, C, H, W)`` float in [0, 1] (the reference).
        region: ``(N, 1, H, W)`` float in {0, 1} (the hole).
        factor: cell side in pixels (H and W need not be multiples: edge cells are partial).

    Returns:
        A float32 scalar (0 for an empty region).
    """
    pa = F.avg_pool2d(a.float(), factor, ceil_mode=True)
    pb = F.avg_pool2d(b.float(), factor, ceil_mode=True)
    r = F.avg_pool2d(region.float(), factor, ceil_mode=True)
    return ((pa - pb).abs() * r).sum() / (r.sum() * a.shape[1]).clamp_min(1e-6)


_LUMA = (0.299, 0.587, 0.114)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the luma of an image batch (replicate padding).

    Args:
        x: ``(N, 3, H, W)`` or ``(N, 1, H, W)`` float in [0, 1].

    Returns:
        ``(N, 1, H, W)`` float32 >= 0: ``sqrt(gx^2 + gy^2 + 1e-8)`` with the 3x3 Sobel
        kernels divided by 8 (a unit step gives about 0.5).
    """
    x = x.float()
    if x.shape[1] == 3:
        w = torch.tensor(_LUMA, device=x.device).view(1, 3, 1, 1)
        x = (x * w).sum(1, keepdim=True)
    k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device) / 8
    kernels = torch.stack([k, k.t()])[:, None]  # (2, 1, 3, 3)
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels)
    return (g.square().sum(1, keepdim=True) + 1e-8).sqrt()


def texture_energy_loss(
    a: torch.Tensor,
    b: torch.Tensor,
    region: torch.Tensor,
    scales: Sequence[int] = (1, 2, 4),
    cell: int = 8,
) -> torch.Tensor:
    """L1 between the local gradient energies of ``a`` and ``b`` in ``region``.

    At each scale ``s`` both images are averaged down ``s`` x ``s``, their Sobel magnitude
    (:func:`gradient_magnitude`) is averaged over ``cell`` x ``cell`` cells, and the cells'
    absolute differences are weighted by the share of hole they hold. Module docstring: why.

    Args:
        a: ``(N, C, H, W)`` float in [0, 1] (the estimate).
        b: ``(N, C, H, W)`` float in [0, 1] (the reference).
        region: ``(N, 1, H, W)`` float in {0, 1} (the hole).
        scales: downsampling factors.
        cell: cell side in pixels at each scale.

    Returns:
        A float32 scalar, the mean over scales.
    """
    losses = []
    for s in scales:
        a_s = F.avg_pool2d(a.float(), s, ceil_mode=True) if s > 1 else a.float()
        b_s = F.avg_pool2d(b.float(), s, ceil_mode=True) if s > 1 else b.float()
        ea = F.avg_pool2d(gradient_magnitude(a_s), cell, ceil_mode=True)
        eb = F.avg_pool2d(gradient_magnitude(b_s), cell, ceil_mode=True)
        r = F.adaptive_avg_pool2d(region.float(), (int(ea.shape[-2]), int(ea.shape[-1])))
        losses.append(((ea - eb).abs() * r).sum() / r.sum().clamp_min(1e-6))
    return torch.stack(losses).mean()


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


def local_spectrum_loss(
    a: torch.Tensor, b: torch.Tensor, region: torch.Tensor, window: int = 16
) -> torch.Tensor:
    """L1 between the amplitude spectra of ``window`` x ``window`` windows (stride
    ``window // 2``, Hann taper) of ``a`` and ``b``, each window weighted by the share of
    hole it holds (module docstring: why).

    Args:
        a: ``(N, C, H, W)`` float in [0, 1] (the estimate); H, W >= ``window``.
        b: ``(N, C, H, W)`` float in [0, 1] (the reference).
        region: ``(N, 1, H, W)`` float in {0, 1} (the hole).
        window: window side in pixels (even).

    Returns:
        A float32 scalar: the hole-weighted mean over windows of the mean absolute
        difference of their amplitude spectra (``rfft2``, ``norm="ortho"``, window means
        removed, so only texture counts, not brightness).
    """
    stride = window // 2
    with torch.autocast(device_type=a.device.type, enabled=False):
        taper = torch.hann_window(window, periodic=False, device=a.device)
        taper = (taper[:, None] * taper[None, :]).view(1, 1, 1, window, window)

        def spectra(x: torch.Tensor) -> torch.Tensor:
            n, c = x.shape[:2]
            tiles = F.unfold(x.float(), window, stride=stride)  # (N, C * w * w, L)
            tiles = tiles.view(n, c, window, window, -1).permute(0, 1, 4, 2, 3)
            tiles = tiles - tiles.mean((-2, -1), keepdim=True)
            return torch.fft.rfft2(tiles * taper, norm="ortho").abs()  # (N, C, L, w, w/2+1)

        diff = (spectra(a) - spectra(b)).abs().mean((1, 3, 4))  # (N, L)
        share = F.unfold(region.float(), window, stride=stride).mean(1)  # (N, L)
        return (diff * share).sum() / share.sum().clamp_min(1e-6)


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
