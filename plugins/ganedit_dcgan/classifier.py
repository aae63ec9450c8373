"""A small Fashion-MNIST classifier: the DCGAN plugin's stand-in for Inception.

No Inception weights may be downloaded, so quality is measured in the feature space of this
project's own classifier, trained by ``scripts/train_fashion_classifier.py`` on the 60k training
images and shipped as ``ganedit_assets:weights/fashion-classifier.safetensors`` (its card holds
the test accuracy). :func:`load_classifier` reads it back.

Architecture (about 60 k parameters, cheap enough to train on a shared CPU in minutes)::

    1x32x32 -> conv3x3 w, BN, ReLU -> maxpool -> w x16x16   (w = width = 24)
            -> conv3x3 w, BN, ReLU -> maxpool -> w x8x8
            -> conv3x3 2w, BN, ReLU -> conv3x3 4w, BN, ReLU
            -> global average pool -> 4 * width (features; 96 by default) -> dropout -> linear 10 (logits)

The 96-d global-pooled vector is the feature space of the Fréchet distance.

A second classifier, ``size=64`` (:data:`CLASSIFIER_64_WEIGHTS`), sees the items as the
translation families' data has them: 28x28 resized to 64x64 with ``cv2.INTER_CUBIC``. It has one
more block in front (``1x64x64 -> conv3x3 w/2, BN, ReLU -> maxpool -> w/2 x32x32``), is trained
with its own seed, and is used by no training run or checkpoint choice: the translation
evaluation's independent yardstick. The 32 px classifier read 64 px items through a 64 -> 28
resize, which alone cost it 5 points on real items (0.887 -> 0.838).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganedit.weights import load_weights, resolve_resource

__all__ = [
    "CLASSES",
    "CLASSIFIER_64_WEIGHTS",
    "CLASSIFIER_WEIGHTS",
    "FashionClassifier",
    "load_classifier",
    "prepare",
]

CLASSIFIER_WEIGHTS = "ganedit_assets:weights/fashion-classifier.safetensors"
CLASSIFIER_64_WEIGHTS = "ganedit_assets:weights/fashion-classifier-64.safetensors"
SIZES = (32, 64)

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


class FashionClassifier(nn.Module):
    """Small CNN over ``(N, 1, size, size)`` images in ``[0, 1]``.

    ``size`` 32: Fashion-MNIST zero-padded to 32; ``size`` 64: items resized to 64 (cubic).
    """

    def __init__(self, width: int = 24, size: int = 32) -> None:
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"classifier size must be one of {SIZES}, got {size}")
        w = width
        stem: list[nn.Module] = [*_block(1, w // 2), nn.MaxPool2d(2)] if size == 64 else []
        self.size = size
        self.features_net = nn.Sequential(
            *stem,
            *_block(w // 2 if size == 64 else 1, w),
            nn.MaxPool2d(2),
            *_block(w, w),
            nn.MaxPool2d(2),
            *_block(w, 2 * w),
            *_block(2 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(4 * w, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features.

        Args:
            x: ``(N, 1, size, size)`` float in ``[0, 1]`` (see :func:`prepare` for other sizes).

        Returns:
            ``(N, 4 * width)`` float32 (96 by default).
        """
        return self.features_net(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, 10)`` for ``x``: ``(N, 1, size, size)`` float in ``[0, 1]``."""
        return self.head(self.dropout(self.features(x)))


def prepare(x: torch.Tensor, size: int = 32) -> torch.Tensor:
    """Bring images to a classifier's input: 1 channel, ``size`` x ``size``, float32 in [0, 1].

    Args:
        x: ``(N, C, H, W)``, C in {1, 3}; float in ``[0, 1]`` or uint8 in ``[0, 255]``.
            For ``size`` 32, 28x28 is zero-padded (as in training); for ``size`` 64, 28x28 is
            resized bicubically (as the 64 px data was made). Other sizes are resized
            (bilinear, antialiased).
        size: the classifier's input side, 32 or 64.

    Returns:
        ``(N, 1, size, size)`` float32 in ``[0, 1]``.
    """
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if x.shape[1] == 3:
        x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    elif x.shape[1] != 1:
        raise ValueError(f"classifier input needs 1 or 3 channels, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if (h, w) == (28, 28) and size == 32:
        x = F.pad(x, (2, 2, 2, 2))
    elif (h, w) == (28, 28):
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    elif (h, w) != (size, size):
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return x.clamp(0, 1)


def load_classifier(
    weights: str | Path = CLASSIFIER_WEIGHTS, device: str | torch.device = "cpu"
) -> tuple[FashionClassifier, dict]:
    """The shipped classifier in eval mode, fp32, and its card.

    Args:
        weights: ``.safetensors`` path or ``"package:relative/path"`` resource.
        device: where to put it.
    """
    path = (
        resolve_resource(str(weights))
        if ":" in str(weights) and not Path(str(weights)).exists()
        else Path(weights)
    )
    state, card = load_weights(path)
    cfg = card.get("config", {})
    net = FashionClassifier(width=int(cfg.get("width", 24)), size=int(cfg.get("size", 32)))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.to(device).eval(), card
