"""What the ``inpaint`` generator sees and what its output becomes: the input channels (the
pre-filled or blanked image, the mask, the optional classical-fill hint and noise) and the raw
fill before compositing (:func:`raw_fill`, :func:`fill_and_base`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ganedit_inpaint import compose

if TYPE_CHECKING:
    from ganedit_inpaint.family import InpaintConfig

__all__ = ["fill_and_base", "hint_input", "noise_input", "raw_fill"]


def raw_fill(
    net: nn.Module, x: torch.Tensor, m: torch.Tensor, config: InpaintConfig
) -> torch.Tensor:
    """The generator's fill for ``x`` with hole ``m``, before compositing.

    ``prefill="zeros"`` (LaMa): the generator sees ``x * (1 - m)`` and the mask, and its
    sigmoid output is the fill. ``prefill="smooth"``: it sees the smooth fill
    (:func:`~ganedit_inpaint.compose.smooth_fill`) and the mask, and its output is a
    correction added to that fill. With ``hint``, it also sees ``cv2.inpaint``'s fill.

    Args:
        net: the :class:`FFCGenerator`.
        x: ``(N, 3, H, W)`` float32 in [0, 1].
        m: ``(N, 1, H, W)`` float32 in {0, 1}, 1 = hole.
        config: ``prefill``, ``smooth_iters``, ``hint`` and ``strength`` are used.

    Returns:
        ``(N, 3, H, W)`` float32 in [0, 1].
    """
    return fill_and_base(net, x, m, config)[0]


def fill_and_base(
    net: nn.Module, x: torch.Tensor, m: torch.Tensor, config: InpaintConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`raw_fill` and what the network started from: ``(raw, base)``, both ``(N, 3,
    H, W)`` float32 in [0, 1]; ``base`` is the smooth pre-fill (``prefill="smooth"``) or the
    blanked image ``x * (1 - m)`` (``"zeros"``)."""
    extra = [*hint_input(x, m, config), *noise_input(net, m, config)]
    if config.prefill != "smooth":
        base = x * (1 - m)
        return net(torch.cat([base, m, *extra], 1)).float(), base
    with torch.no_grad():
        base = compose.smooth_fill(x.float(), m, int(config.smooth_iters))
    corr = net(torch.cat([base, m, *extra], 1)).float()
    strength = float(getattr(config, "strength", 1.0))
    return (base + (corr if strength == 1.0 else strength * corr)).clamp(0, 1), base


def hint_input(x: torch.Tensor, m: torch.Tensor, config: InpaintConfig) -> list[torch.Tensor]:
    """The generator's hint channels: ``[]`` when ``config.hint`` is ``"none"``, else one
    ``(N, 3, H, W)`` float32 tensor in [0, 1], ``cv2.inpaint``'s fill of the hole
    (:func:`~ganedit_inpaint.compose.classical_fill`, no gradient)."""
    method = str(getattr(config, "hint", "none"))
    if method == "none":
        return []
    return [compose.classical_fill(x, m, method)]


def noise_input(net: nn.Module, m: torch.Tensor, config: InpaintConfig) -> list[torch.Tensor]:
    """The generator's noise channel: ``[]`` when ``config.noise`` is 0, else one ``(N, 1,
    H, W)`` float32 tensor, ``N(0, noise**2)`` in the hole and 0 outside. A training-mode
    ``net`` draws from the global torch RNG (checkpointed, so resume is exact); in eval mode
    the noise comes from ``noise_seed``, one draw for every item (the same input gets the same
    fill, alone or in any batch)."""
    std = float(config.noise)
    if std <= 0:
        return []
    shape = (m.shape[0], 1, *m.shape[-2:])
    if net.training:
        z = torch.randn(shape, device=m.device)
    else:
        rng = torch.Generator().manual_seed(int(config.noise_seed))  # one draw for all items
        z = torch.randn((1, *shape[1:]), generator=rng).to(m.device).expand(shape)
    return [z * std * m]
