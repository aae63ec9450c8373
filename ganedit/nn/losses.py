"""GAN losses and gradient penalties.

All functions take raw discriminator outputs ("logits", any shape, float) and return a scalar
float32 tensor, so they work for image-level and patch-level (PatchGAN) discriminators alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LOSS_KINDS", "gan_loss", "gradient_penalty", "r1_penalty"]

LOSS_KINDS = ("bce", "lsgan", "hinge", "wgan")


def gan_loss(
    kind: str, logits: torch.Tensor, real: bool, for_discriminator: bool = True
) -> torch.Tensor:
    """The adversarial loss for one batch of discriminator outputs.

    Args:
        kind: ``"bce"`` (non-saturating cross-entropy, Goodfellow et al. 2014), ``"lsgan"``
            (least squares, Mao et al. 2017, targets 1/0), ``"hinge"`` (Lim & Ye 2017; Miyato et
            al. 2018) or ``"wgan"`` (Arjovsky et al. 2017: mean critic score).
        logits: discriminator outputs, any shape (``(N,)``, ``(N, 1)`` or ``(N, 1, h, w)`` for a
            PatchGAN), any float dtype, unbounded (no sigmoid applied).
        real: the target: ``True`` when the samples should be judged real. For the generator
            loss pass ``real=True`` (it wants its fakes judged real).
        for_discriminator: ``True`` for the discriminator's loss; ``False`` for the generator's
            (matters for ``hinge``, whose generator loss is ``-mean(logits)``).

    Returns:
        A scalar float32 tensor (mean over all elements), differentiable w.r.t. ``logits``.
    """
    x = logits.float()
    if kind == "bce":
        target = torch.ones_like(x) if real else torch.zeros_like(x)
        return F.binary_cross_entropy_with_logits(x, target)
    if kind == "lsgan":
        return F.mse_loss(x, torch.full_like(x, 1.0 if real else 0.0))
    if kind == "hinge":
        if not for_discriminator:
            return -x.mean()
        return F.relu(1.0 - x).mean() if real else F.relu(1.0 + x).mean()
    if kind == "wgan":
        return -x.mean() if real else x.mean()
    raise ValueError(f"unknown GAN loss {kind!r}; use one of {', '.join(LOSS_KINDS)}")


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 regulariser (Mescheder et al. 2018): ``mean_n ||d D(x_n) / d x_n||^2`` on real data.

    Args:
        real_logits: ``D(real_images)``, any shape with batch first, float.
        real_images: ``(N, C, H, W)`` float, created with ``requires_grad_(True)`` *before* the
            discriminator was called on them.

    Returns:
        A scalar float32 tensor (multiply by ``gamma / 2`` yourself). Differentiable (the graph
        is kept so it can be added to the discriminator loss).
    """
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def gradient_penalty(
    discriminator: nn.Module | torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    target: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): ``mean((||grad D(x_hat)||_2 - target)^2)``.

    ``x_hat`` is a random interpolation between ``real`` and ``fake`` (one mixing weight per
    sample, drawn from the global torch RNG).

    Args:
        discriminator: the critic; called once on the interpolates.
        real: ``(N, C, H, W)`` float real batch (any range; usually ``[0, 1]`` or ``[-1, 1]``).
        fake: ``(N, C, H, W)`` float fake batch, same shape/device; detached inside.
        target: the wanted gradient norm (1 in the paper).

    Returns:
        A scalar float32 tensor (multiply by lambda = 10 yourself), differentiable w.r.t. the
        discriminator's parameters.
    """
    n = real.shape[0]
    alpha = torch.rand((n,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = discriminator(x_hat)
    (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
    norm = grad.float().flatten(1).norm(2, dim=1)
    return (norm - target).pow(2).mean()
