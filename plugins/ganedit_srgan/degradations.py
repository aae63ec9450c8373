"""Low-resolution inputs made on the device from high-resolution crops.

The training pipeline (and :mod:`ganedit_srgan.evaluate`) never reads LR files: any folder of
photos is a training set. The classic SR degradation is a bicubic downscale (antialiased, the
same kernel as MATLAB's ``imresize``, which the SR literature evaluates with). Optional, for
models meant for real photos (in the spirit of Real-ESRGAN's first-order model, applied in
this order): Gaussian blur before the downscale, Gaussian noise after it, then JPEG
compression (kornia's differentiable JPEG codec). Each option draws its strength per sample.

:func:`soften` is different in kind: it blurs the HR crop itself (target and input alike), so
the training set also holds soft photos (out of focus, shaken, motion-blurred) and the model
learns that a soft LR edge can belong to a soft HR edge, instead of sharpening every edge.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "add_noise",
    "bicubic_downscale",
    "bicubic_upscale",
    "degrade",
    "jpeg",
    "quantize",
    "random_blur",
    "soften",
]


def quantize(x: torch.Tensor, levels: int = 255) -> torch.Tensor:
    """Round to ``levels`` steps, as storing an 8-bit image would.

    Args:
        x: any float tensor in [0, 1].

    Returns:
        Same shape and dtype, values in ``{0, 1/levels, ..., 1}``.
    """
    return (x.clamp(0, 1) * levels).round_() / levels


def bicubic_downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic downscale by an integer factor.

    Args:
        hr: ``(N, C, H, W)`` float in [0, 1]; H and W multiples of ``scale``.
        scale: the downscale factor (2 or 4).

    Returns:
        ``(N, C, H // scale, W // scale)`` float in [0, 1].
    """
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"bicubic_downscale: size {h}x{w} is not a multiple of {scale}")
    lr = F.interpolate(
        hr, size=(h // scale, w // scale), mode="bicubic", align_corners=False, antialias=True
    )
    return lr.clamp(0, 1)


def bicubic_upscale(lr: torch.Tensor, scale: float) -> torch.Tensor:
    """Plain bicubic upscale (the baseline every SR model is compared with).

    Args:
        lr: ``(N, C, H, W)`` float in [0, 1].
        scale: the upscale factor.

    Returns:
        ``(N, C, round(H * scale), round(W * scale))`` float clamped to [0, 1].
    """
    h, w = lr.shape[-2:]
    size = (round(h * scale), round(w * scale))
    return F.interpolate(lr, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def random_blur(
    x: torch.Tensor, max_sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Isotropic Gaussian blur with a per-sample sigma drawn uniformly in ``[0.2, max_sigma]``.

    Args:
        x: ``(N, C, H, W)`` float in [0, 1].
        max_sigma: the largest sigma in pixels; ``<= 0`` returns ``x`` unchanged.
        generator: optional torch generator on ``x``'s device.

    Returns:
        Same shape, dtype and range as ``x``.
    """
    if max_sigma <= 0:
        return x
    from kornia.filters import gaussian_blur2d

    n = x.shape[0]
    lo = min(0.2, max_sigma)
    sigma = lo + (max_sigma - lo) * torch.rand(n, device=x.device, generator=generator)
    ksize = 2 * int(3 * max_sigma + 0.5) + 1
    return gaussian_blur2d(
        x, ksize, torch.stack([sigma, sigma], dim=1).to(x.dtype), border_type="reflect"
    )


def soften(
    hr: torch.Tensor,
    prob: float,
    max_sigma: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Blur a random subset of HR crops, making soft photos out of sharp ones.

    Each sample is picked with probability ``prob`` and blurred by :func:`random_blur`
    (sigma uniform in ``[0.2, max_sigma]`` HR pixels); the others are returned unchanged.
    Apply it before :func:`degrade` and use the result as the training target too.

    Args:
        hr: ``(N, C, H, W)`` float in [0, 1].
        prob: probability that a sample is softened, in [0, 1]; ``<= 0`` = off.
        max_sigma: largest blur sigma in HR pixels; ``<= 0`` = off.
        generator: optional torch generator on ``hr``'s device.

    Returns:
        A new tensor of the same shape, dtype and range (``hr`` itself when off).
    """
    if prob <= 0 or max_sigma <= 0:
        return hr
    if prob > 1:
        raise ValueError(f"soften: prob must be in [0, 1], got {prob}")
    pick = torch.rand(hr.shape[0], device=hr.device, generator=generator) < prob
    if not bool(pick.any()):
        return hr
    out = hr.clone()
    out[pick] = random_blur(hr[pick], max_sigma, generator)
    return out


def add_noise(
    x: torch.Tensor, max_sigma: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Additive Gaussian noise, per-sample std uniform in ``[0, max_sigma]`` (0-1 units).

    Args:
        x: ``(N, C, H, W)`` float in [0, 1].
        max_sigma: the largest noise std, e.g. ``0.04`` (about 10/255); ``<= 0`` = off.

    Returns:
        Same shape as ``x``, clamped to [0, 1].
    """
    if max_sigma <= 0:
        return x
    n = x.shape[0]
    sigma = max_sigma * torch.rand(n, 1, 1, 1, device=x.device, generator=generator)
    noise = torch.randn(x.shape, device=x.device, generator=generator, dtype=x.dtype)
    return (x + sigma.to(x.dtype) * noise).clamp(0, 1)


def jpeg(
    x: torch.Tensor,
    min_quality: int,
    max_quality: int = 95,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """JPEG-compress each sample at a quality drawn uniformly in ``[min_quality, max_quality]``.

    Uses :func:`kornia.enhance.jpeg_codec_differentiable` (runs on the device; any size).

    Args:
        x: ``(N, 3, H, W)`` float in [0, 1].
        min_quality: lowest JPEG quality (1-100); ``<= 0`` returns ``x`` unchanged.

    Returns:
        Same shape as ``x``, in [0, 1].
    """
    if min_quality <= 0:
        return x
    from kornia.enhance import jpeg_codec_differentiable

    n = x.shape[0]
    lo, hi = float(min_quality), float(max(max_quality, min_quality))
    q = lo + (hi - lo) * torch.rand(n, device=x.device, generator=generator)
    return jpeg_codec_differentiable(x.float(), q.float()).clamp(0, 1).to(x.dtype)


@torch.no_grad()
def degrade(
    hr: torch.Tensor,
    scale: int,
    *,
    blur_sigma: float = 0.0,
    noise_sigma: float = 0.0,
    jpeg_quality: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """HR crops -> LR inputs: [blur] -> bicubic downscale -> [noise] -> [JPEG] -> 8-bit rounding.

    Args:
        hr: ``(N, 3, H, W)`` float in [0, 1], H and W multiples of ``scale``.
        scale: 2 or 4.
        blur_sigma: max Gaussian blur sigma in HR pixels (0 = off).
        noise_sigma: max Gaussian noise std in [0, 1] units (0 = off).
        jpeg_quality: lowest JPEG quality (0 = off; quality drawn in ``[jpeg_quality, 95]``).
        generator: optional torch generator on ``hr``'s device.

    Returns:
        ``(N, 3, H // scale, W // scale)`` float in [0, 1].
    """
    x = random_blur(hr, blur_sigma, generator)
    x = bicubic_downscale(x, scale)
    x = add_noise(x, noise_sigma, generator)
    return quantize(jpeg(x, jpeg_quality, generator=generator))
