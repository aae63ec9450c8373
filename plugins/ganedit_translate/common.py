"""What the three translation families (``pix2pix``, ``cyclegan``, ``cut``) share.

* :class:`TrainingOptions`: the optimiser and jitter options every translation Config ends
  with. A Config puts its own options in a base class and lists this one first,
  ``class XConfig(TrainingOptions, XOptions)``: dataclass fields follow the bases in reverse
  order, so the family's options come first and these last, as ``--help`` has always shown.
* :class:`TranslationFamily`: the image kind, the ``data`` / ``a`` / ``b`` data roles and the
  generator call (images in ``[0, 1]``, networks in ``[-1, 1]``).
* :func:`update`: one optimiser update through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

import ganedit
from ganedit.config import option

__all__ = ["TrainingOptions", "TranslationFamily", "update"]

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
