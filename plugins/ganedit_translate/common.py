"""What the three translation families (``pix2pix``, ``cyclegan``, ``cut``) share.

* :class:`TrainingOptions`: the optimiser and jitter options every translation Config ends
  with. A Config puts its own options in a base class and lists this one first,
  ``class XConfig(TrainingOptions, XOptions)``: dataclass fields follow the bases in reverse
  order, so the family's options come first and these last, as ``--help`` has always shown.
* :class:`TranslationFamily`: the image kind, the ``data`` / ``a`` / ``b`` data roles and the
  generator call (images in ``[0, 1]``, networks in ``[-1, 1]``).
* :class:`ContentTerm`, :func:`content_loss`, :func:`content_contrast_loss` and
  :func:`content_terms`: the optional content terms of the unpaired families (in neither
  paper): the output's blurred difference from its own input, and the contrastive form
  (nearer its own input than other inputs).
* :func:`update`: one optimiser update through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn import functional as F

import ganedit
from ganedit.config import option
from ganedit.metrics import gaussian_blur

__all__ = [
    "ContentTerm",
    "TrainingOptions",
    "TranslationFamily",
    "content_contrast_loss",
    "content_loss",
    "content_terms",
    "content_weights",
    "update",
]

C = TypeVar("C")


@dataclass
class TrainingOptions:
    """Adam, batch, jitter and EMA: the last options of every translation Config (pix2pix
    words four of them for pairs)."""

    lr: float = option(2e-4, "Adam learning rate of all nets.", train_only=True)
    betas: tuple[float, float] = option((0.5, 0.999), "Adam betas.", train_only=True)
    batch_size: int = option(1, "Images per domain and step.", train_only=True)
    load_size: int = option(286, "Jitter: resize images to this side first.", train_only=True)
    crop_size: int = option(256, "Jitter: then a random crop of this side.", train_only=True)
    flip: bool = option(True, "Random horizontal mirror.", train_only=True)
    ema_decay: float = option(0.0, "Generator EMA (0 = off).", train_only=True)


@dataclass
class ContentTerm:
    """The content term of the unpaired families (off by default; in neither paper): the
    weight times the penalty of the Gaussian-blurred difference between each output and its
    own input (:func:`content_loss`), per direction."""

    content_weight: float = option(
        0.0,
        "Content term: L1 between the Gaussian-blurred input and output, per direction; "
        "0 = off (the paper).",
        train_only=True,
    )
    content_weight_b2a: float = option(
        -1.0,
        "Content term weight of the b2a direction alone (a direction whose target differs "
        "more in shape may need less); negative = content_weight.",
        train_only=True,
    )
    content_sigma: float = option(
        2.0, "Blur (Gaussian sigma, px) of the content term.", train_only=True
    )
    content_scale: float = option(
        0.0,
        "Content term penalty: 0 = L1; c > 0 = c * log(1 + |d| / c), L1 for differences "
        "well under c and growing only logarithmically above (a part that must change "
        "shape, a boot's shaft, then costs little; the rest is still held).",
        train_only=True,
    )
    content_contrast: float = option(
        0.0,
        "Contrastive content term weight (both directions): each output must be nearer "
        "(blurred, RMS) its own input than the other inputs of its batch and content_bank "
        "earlier ones (a logistic loss per pair); it asks for no likeness, only for more "
        "likeness to its own input than to others. 0 = off.",
        train_only=True,
    )
    content_bank: int = option(
        64, "Earlier inputs per domain the contrastive content term compares with.", train_only=True
    )
    content_tau: float = option(
        0.02, "Temperature of the contrastive content term (an RMS difference).", train_only=True
    )


def content_weights(config: Any) -> tuple[float, float]:
    """The content term's weights of a2b and b2a of a Config with the :class:`ContentTerm`
    fields (``content_weight_b2a`` < 0: the same as a2b)."""
    w_ab = float(config.content_weight)
    w_ba = float(config.content_weight_b2a)
    return w_ab, (w_ab if w_ba < 0 else w_ba)


def content_loss(
    out: torch.Tensor, src: torch.Tensor, sigma: float, scale: float = 0.0
) -> torch.Tensor:
    """Mean penalty of the difference ``d`` between the Gaussian-blurred ``out`` and ``src``
    (``(N, C, H, W)``, [0, 1]): the layout and brightness an output should keep of its own
    input, not its details. ``scale`` 0: ``|d|`` (L1); ``c > 0``: ``c * log(1 + |d| / c)``
    (L1 near 0, logarithmic for ``|d| >> c``). A float32 scalar >= 0."""
    d = _blur(out - src, sigma).abs()
    return (scale * torch.log1p(d / scale) if scale > 0 else d).mean()


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The content score's blur (:func:`ganedit.metrics.gaussian_blur`), in float32."""
    return gaussian_blur(x.float(), sigma)


def content_contrast_loss(
    out: torch.Tensor, src: torch.Tensor, bank: torch.Tensor, sigma: float, tau: float
) -> torch.Tensor:
    """The contrastive content term: a smooth form of the content score (own input nearer
    than another input; :func:`ganedit.metrics.content_score`).

    With ``o`` the blurred output and ``x`` the blurred inputs, for output ``i`` and every
    negative ``j`` (the batch's other inputs, then ``bank``), the pair's loss is
    ``softplus((rms(o_i - x_i) - rms(o_i - x_j)) / tau)``: about ``|margin| / tau`` for a
    pair the output loses, near 0 for one it wins by a few ``tau``.

    Args:
        out: ``(N, C, H, W)`` outputs in [0, 1], made from ``src``.
        src: ``(N, C, H, W)`` their inputs in [0, 1] (no gradient is taken through them).
        bank: ``(K, C, H, W)`` earlier inputs of the same domain, already blurred (K >= 0).
        sigma: blur in pixels. tau: temperature (an RMS difference in [0, 1] units).

    Returns:
        The mean pair loss, a float32 scalar >= 0 (0 when there is no negative).
    """
    n = out.shape[0]
    o = _blur(out, sigma).flatten(1)
    x = _blur(src.detach(), sigma).flatten(1)
    negs = torch.cat([x, bank.flatten(1).to(x)])
    if negs.shape[0] < 2:
        return torch.zeros((), device=out.device)
    rms = ((o[:, None] - negs[None]) ** 2).mean(-1).add(1e-8).sqrt()  # (N, N + K)
    own = rms[torch.arange(n), torch.arange(n)]
    others = ~torch.eye(n, negs.shape[0], dtype=torch.bool, device=out.device)
    return F.softplus((own[:, None] - rms) / tau)[others].mean()


def content_terms(
    config: Any,
    state: dict[str, torch.Tensor],
    direction: str,
    out: torch.Tensor,
    src: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both content terms of one direction, weighted, and the bank update.

    Args:
        config: a Config with the :class:`ContentTerm` fields.
        state: the family's training state; ``content_bank_<direction>`` holds the blurred
            earlier inputs, newest first, and is updated in place (``src`` pushed in).
        direction: ``"a2b"`` or ``"b2a"``.
        out, src: ``(N, C, H, W)`` output and its input, in [0, 1].

    Returns:
        ``(loss, reported)``: the weighted sum to add to the generator loss and the
        unweighted sum of the active terms (float32 scalars; both 0 when both are off).
    """
    zero = torch.zeros((), device=out.device)
    w_l1 = content_weights(config)[0 if direction == "a2b" else 1]
    w_nce = float(config.content_contrast)
    loss, reported = zero, zero
    sigma = float(config.content_sigma)
    if w_l1 > 0:
        term = content_loss(out, src, sigma, float(config.content_scale))
        loss, reported = loss + w_l1 * term, reported + term
    if w_nce > 0:
        key = f"content_bank_{direction}"
        bank = state.get(key, torch.zeros((0, *src.shape[1:]), device=src.device))
        term = content_contrast_loss(out, src, bank, sigma, float(config.content_tau))
        loss, reported = loss + w_nce * term, reported + term
        fresh = _blur(src.detach(), sigma)
        state[key] = torch.cat([fresh, bank.to(fresh)])[: int(config.content_bank)]
    return loss, reported


class TranslationFamily(ganedit.ModelFamily[C]):
    """Base of the translation families: image to image, data given as ``--data DIR`` or as
    ``--data a=DIR --data b=DIR``."""

    kind = ganedit.Kind.IMAGE
    data_roles = ("data", "a", "b")

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: C
    ) -> torch.Tensor:
        """Translate a batch.

        Args:
            net: a generator (takes and gives images in ``[-1, 1]``).
            inputs: ``{"image": (N, C_in, H, W)}`` float32 in ``[0, 1]``, H and W multiples
                of ``io(config).size_multiple``.
            config: the Config.

        Returns:
            ``(N, C_out, H, W)`` float in ``[0, 1]``.
        """
        return (net(inputs["image"] * 2 - 1) + 1) / 2


def update(step: ganedit.Step, key: str, loss: torch.Tensor) -> None:
    """Zero the gradients of optimiser ``step.opts[key]``, backpropagate the scalar ``loss``
    through the engine (scaled under fp16) and step that optimiser."""
    step.opts[key].zero_grad(set_to_none=True)
    step.engine.backward(loss)
    step.engine.step(step.opts[key])
