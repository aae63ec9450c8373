"""Small layer helpers shared by model families: spectral norm switch, weight init, norm layers
and the conv -> norm -> activation block most GAN networks are built of."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import torch
from torch import nn

__all__ = ["conv_norm_act", "init_weights", "norm_layer", "spectral_norm_if"]

_M = TypeVar("_M", bound=nn.Module)


def spectral_norm_if(flag: bool, module: _M) -> _M:
    """``module`` wrapped in spectral normalisation (Miyato et al. 2018) when ``flag`` is true.

    Uses :func:`torch.nn.utils.parametrizations.spectral_norm` (a parametrisation, so
    ``state_dict`` stays plain tensors and safetensors-friendly).
    """
    if not flag:
        return module
    return cast(_M, nn.utils.parametrizations.spectral_norm(module))  # ``module`` itself


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name: ``"batch"``, ``"instance"`` (no affine, as in
    pix2pix/CycleGAN) or ``"none"`` (identity)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use batch, instance or none")


def conv_norm_act(
    conv: nn.Conv2d | nn.ConvTranspose2d, norm: str, act: nn.Module | None = None
) -> list[nn.Module]:
    """``[conv, norm_layer(norm, conv.out_channels), act]``: the usual GAN building block.

    A list, to splice into an ``nn.Sequential`` (``layers += conv_norm_act(...)``): the
    state-dict keys are then the Sequential's own indices, three per block (``"none"`` keeps
    an :class:`~torch.nn.Identity` in the norm's place).

    Args:
        conv: the convolution (spectrally normalised or not), e.g. a stride-2 ``nn.Conv2d``.
        norm: ``"batch"``, ``"instance"`` or ``"none"`` (:func:`norm_layer`).
        act: the activation; ``None``: ``nn.ReLU()``.

    Example::

        layers = conv_norm_act(nn.Conv2d(64, 128, 3, 2, 1, bias=False), "batch")
        layers += conv_norm_act(nn.Conv2d(128, 256, 4, 2, 1), "instance", nn.LeakyReLU(0.2))
        net = nn.Sequential(*layers)  # (N, 64, H, W) -> (N, 256, H / 4, W / 4)
    """
    return [conv, norm_layer(norm, conv.out_channels), nn.ReLU() if act is None else act]


def init_weights(module: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv/linear weights in place and return ``module``.

    ``"normal"``: ``N(0, gain)`` weights and zero biases for Conv/ConvTranspose/Linear, and
    ``N(1, gain)`` scale with zero shift for BatchNorm (DCGAN, pix2pix: gain 0.02).
    ``"xavier"`` / ``"kaiming"`` / ``"orthogonal"`` as in the pix2pix code base. Draws from the
    global torch RNG (seed it for reproducible weights).
    """
    inits: dict[str, Callable[[torch.Tensor], object]] = {
        "normal": lambda w: nn.init.normal_(w, 0.0, gain),
        "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain),
        "kaiming": lambda w: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
        "orthogonal": lambda w: nn.init.orthogonal_(w, gain=gain),
    }
    if kind not in inits:
        raise ValueError(f"unknown init {kind!r}; use {', '.join(inits)}")

    def apply(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = getattr(m, "parametrizations", None)
            w = (
                weight.weight.original
                if weight is not None and hasattr(weight, "weight")
                else m.weight
            )
            inits[kind](w)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    module.apply(apply)
    return module
