"""Shared yardsticks that plugins' ``evaluate()`` use: measures of what a person sees.

Structure measures for filled or edited regions (inpainting, object removal), computed with
OpenCV on numpy arrays, no learned network:

* :func:`edge_f1` / :func:`edge_scores`: do the edges of the filled image fall where the
  original's are? Canny edges of both, matched within ``tolerance_px`` pixels, counted on
  the region's interior. A blur scores near 0 (it has no edges), so does noise (its edges
  are in the wrong places, and it has too many).
* :func:`gradient_energy_ratio`: is the fill as detailed as the original? Mean Sobel
  gradient magnitude over the region's interior, filled / original: 1.0 as detailed as the
  real image, a blur about 0.2, noise above 1.3.

Images are ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` numpy arrays (RGB order,
alpha ignored): ``uint8``, ``uint16`` (scaled to 8 bits), or floating point in [0, 1]. Both
images of a call must have the same height and width; they are compared as luma
(ITU-R BT.601 weights). Regions are ``(H, W)`` bool arrays (True = filled pixel).

The *interior* of a region is the region without its outer ``border_px`` ring (an erosion
with a ``(2 b + 1)``-square; ``border_px=0`` keeps the whole region): both measures count
only interior pixels, while the edge detector and the gradient filter see the whole image.

Translation (torch tensors ``(N, C, H, W)`` float in [0, 1]):

* :func:`content_score`: is each output nearer (Gaussian-blurred, sigma 2 px) to its own
  input than to a random other input of the same domain? 0.5 = chance (an output that
  ignores its input), 1.0 = always.

Feature-space figures with the project's own Fashion-MNIST classifiers (no download; shipped
weights :data:`CLASSIFIER_WEIGHTS` (32 px) and :data:`CLASSIFIER_64_WEIGHTS` (64 px)):
:class:`FashionClassifier`, :func:`load_classifier`, :func:`prepare`,
:func:`features_and_predictions`, and the Fréchet distance between Gaussians fitted to
features (:func:`gaussian_stats`, :func:`frechet_distance`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CANNY_THRESHOLDS",
    "CLASSES",
    "CLASSIFIER_64_WEIGHTS",
    "CLASSIFIER_WEIGHTS",
    "EdgeScores",
    "FashionClassifier",
    "canny_edges",
    "content_score",
    "edge_f1",
    "edge_scores",
    "features_and_predictions",
    "frechet_distance",
    "gaussian_blur",
    "gaussian_stats",
    "gradient_energy_ratio",
    "gradient_magnitude",
    "load_classifier",
    "prepare",
    "region_interior",
    "to_luma8",
]

#: Hysteresis thresholds of :func:`canny_edges` (OpenCV's L2 gradient of the 8-bit luma after
#: a 5x5 Gaussian with sigma 1; the classic 1:3 ratio).
CANNY_THRESHOLDS = (50.0, 150.0)

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def to_luma8(img: np.ndarray) -> np.ndarray:
    """The 8-bit luma of an image.

    Args:
        img: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``; ``uint8``,
            ``uint16`` or float in [0, 1] (RGB order; alpha ignored).

    Returns:
        ``(H, W)`` uint8.
    """
    a = np.asarray(img)
    if a.ndim == 3:
        a = a[:, :, 0] if a.shape[2] < 3 else a[:, :, :3] @ _LUMA
    elif a.ndim != 2:
        raise ValueError(f"expected an (H, W[, C]) image, got shape {a.shape}")
    if np.asarray(img).dtype == np.uint16:
        scale = 255.0 / 65535.0
    elif np.asarray(img).dtype == np.uint8:
        scale = 1.0
    else:
        scale = 255.0
    return np.clip(np.asarray(a, dtype=np.float64) * scale + 0.5, 0, 255).astype(np.uint8)


def _check(filled: np.ndarray, original: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``region`` as ``(H, W)`` bool, after checking that the three shapes agree."""
    hw = np.asarray(original).shape[:2]
    if np.asarray(filled).shape[:2] != hw or np.asarray(region).shape[:2] != hw:
        raise ValueError(
            f"shapes differ: filled {np.asarray(filled).shape}, original "
            f"{np.asarray(original).shape}, region {np.asarray(region).shape}"
        )
    return np.asarray(region).reshape(hw).astype(bool)


def region_interior(region: np.ndarray, border_px: int = 1) -> np.ndarray:
    """The region without its outer ``border_px`` ring (module docstring).

    Args:
        region: ``(H, W)`` bool.
        border_px: ring width in pixels, >= 0.

    Returns:
        ``(H, W)`` bool.
    """
    r = np.asarray(region).astype(np.uint8)
    b = max(0, int(border_px))
    if b == 0:
        return r.astype(bool)
    kernel = np.ones((2 * b + 1, 2 * b + 1), np.uint8)
    return cv2.erode(r, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)


def canny_edges(img: np.ndarray) -> np.ndarray:
    """Canny edges of an image's 8-bit luma: a 5x5 Gaussian (sigma 1), then
    ``cv2.Canny`` with :data:`CANNY_THRESHOLDS` and the L2 gradient.

    Args:
        img: an image (module docstring).

    Returns:
        ``(H, W)`` bool, True on edge pixels.
    """
    smooth = cv2.GaussianBlur(to_luma8(img), (5, 5), 1.0)
    lo, hi = CANNY_THRESHOLDS
    return cv2.Canny(smooth, lo, hi, L2gradient=True) > 0


def _distance_to(edges: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) from every pixel to the nearest True of ``edges``
    (infinite when there is none)."""
    if not edges.any():
        return np.full(edges.shape, np.inf, dtype=np.float32)
    return cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


class EdgeScores(NamedTuple):
    """Result of :func:`edge_scores` (counts over the region's interior)."""

    precision: float  #: filled-image edges within tolerance of an original edge / all of them
    recall: float  #: original edges within tolerance of a filled-image edge / all of them
    f1: float  #: ``2 P R / (P + R)`` (0 when both are 0)
    filled_edges: int  #: edge pixels of the filled image in the interior
    original_edges: int  #: edge pixels of the original in the interior


def edge_scores(
    filled: np.ndarray,
    original: np.ndarray,
    region: np.ndarray,
    tolerance_px: float = 3.0,
    border_px: int = 1,
) -> EdgeScores:
    """Canny edges of ``filled`` against those of ``original`` inside ``region``.

    Edges are found on the whole images (:func:`canny_edges`); an edge pixel of one image in
    the region's interior is *matched* when an edge pixel of the other image (anywhere) lies
    within ``tolerance_px`` (Euclidean). Precision and recall are the matched shares; an
    empty side counts as 1 (no edge to find, or none invented), so two edge-free interiors
    score F1 = 1 and a blur over real edges scores recall 0, F1 0.

    Args:
        filled: the filled image (module docstring for shapes and dtypes).
        original: the reference image, same height and width.
        region: ``(H, W)`` bool, True = filled pixel.
        tolerance_px: matching distance in pixels.
        border_px: ring of the region left out (:func:`region_interior`).

    Returns:
        :class:`EdgeScores`.
    """
    inside = region_interior(_check(filled, original, region), border_px)
    ef, eo = canny_edges(filled), canny_edges(original)
    f_in, o_in = ef & inside, eo & inside
    n_f, n_o = int(f_in.sum()), int(o_in.sum())
    p = float((_distance_to(eo)[f_in] <= tolerance_px).mean()) if n_f else 1.0
    r = float((_distance_to(ef)[o_in] <= tolerance_px).mean()) if n_o else 1.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return EdgeScores(p, r, f1, n_f, n_o)


def edge_f1(
    filled: np.ndarray,
    original: np.ndarray,
    region: np.ndarray,
    tolerance_px: float = 3.0,
    border_px: int = 1,
) -> float:
    """Edge F1 in [0, 1] of ``filled`` against ``original`` on ``region``'s interior:
    ``edge_scores(...).f1`` (see :func:`edge_scores`; same arguments)."""
    return edge_scores(filled, original, region, tolerance_px, border_px).f1


def gradient_magnitude(img: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of an image's luma in [0, 1] units.

    Args:
        img: an image (module docstring).

    Returns:
        ``(H, W)`` float32 >= 0: ``sqrt(gx^2 + gy^2)`` of 3x3 Sobel filters divided by 8 on
        the luma scaled to [0, 1] (reflected borders), so a unit step gives 0.5.
    """
    y = to_luma8(img).astype(np.float32) / 255.0
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101) / 8
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101) / 8
    return np.sqrt(gx * gx + gy * gy)


def gradient_energy_ratio(
    filled: np.ndarray, original: np.ndarray, region: np.ndarray, border_px: int = 1
) -> float:
    """Mean Sobel magnitude (:func:`gradient_magnitude`) of ``filled`` over the region's
    interior divided by that of ``original``.

    Args:
        filled: the filled image (module docstring for shapes and dtypes).
        original: the reference image, same height and width.
        region: ``(H, W)`` bool, True = filled pixel.
        border_px: ring of the region left out (:func:`region_interior`).

    Returns:
        A float >= 0: 1.0 as detailed as the original, below 1 smoother, above 1 busier;
        ``nan`` when the interior is empty, and 1.0 (or ``inf``) when the original is flat
        there and the fill is too (or is not).
    """
    inside = region_interior(_check(filled, original, region), border_px)
    if not inside.any():
        return float("nan")
    ef = float(gradient_magnitude(filled)[inside].mean())
    eo = float(gradient_magnitude(original)[inside].mean())
    if eo <= 1e-12:
        return 1.0 if ef <= 1e-12 else float("inf")
    return ef / eo


# ------------------------------------------------------------------ content of a translation
def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, reflected borders, radius ``ceil(3 sigma)``.

    Args:
        x: ``(N, C, H, W)`` float. sigma: standard deviation in pixels (0 = unchanged).

    Returns:
        ``(N, C, H, W)`` float, same dtype.
    """
    if sigma <= 0:
        return x
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype).to(x.device)
    n, c, h, w = x.shape
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w)


def content_score(
    outputs: torch.Tensor,
    inputs: torch.Tensor,
    sigma: float = 2.0,
    draws: int = 10,
    seed: int = 0,
) -> float:
    """Does each output depend on its own input? The two-alternative test of issue 23.

    For output ``i`` and a random other input ``j != i`` (uniform, ``draws`` times per
    output), the trial is won when the blurred output is nearer (L2) to its own blurred
    input than to input ``j``'s; a tie counts one half. The score is the share of trials
    won: 0.5 is chance (an output that ignores its input), 1.0 every output nearer to its
    own input. The blur (``sigma`` px) compares layout and brightness, not texture.

    Args:
        outputs: ``(N, C, H, W)`` float in [0, 1], output ``i`` made from input ``i``; N >= 2.
        inputs: ``(N, C', H, W)`` float in [0, 1]; a 3-channel side is compared as luma
            (ITU-R 601) when the other has 1 channel.
        sigma: Gaussian blur in pixels. draws: other inputs drawn per output. seed: of the draws.

    Returns:
        The score in [0, 1].
    """
    if outputs.shape[0] != inputs.shape[0] or outputs.shape[0] < 2:
        raise ValueError(
            f"need N >= 2 matching outputs and inputs, got {outputs.shape[0]} and {inputs.shape[0]}"
        )
    if outputs.shape[-2:] != inputs.shape[-2:]:
        raise ValueError(f"sizes differ: {tuple(outputs.shape)} vs {tuple(inputs.shape)}")
    o, x = _same_channels(outputs.double(), inputs.double())
    o, x = gaussian_blur(o, sigma).flatten(1), gaussian_blur(x, sigma).flatten(1)
    n = o.shape[0]
    gen = torch.Generator().manual_seed(seed)
    others = (torch.arange(n)[:, None] + torch.randint(1, n, (n, draws), generator=gen)) % n
    own = (o - x).norm(dim=1)[:, None]  # (N, 1)
    other = (o[:, None] - x[others]).norm(dim=2)  # (N, draws)
    won = (own < other).double() + 0.5 * (own == other).double()
    return float(won.mean())


def _same_channels(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring a 3-channel side to luma when the other side has 1 channel."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=a.dtype).view(1, 3, 1, 1)
    if a.shape[1] == 3 and b.shape[1] == 1:
        a = (a * w.to(a.device)).sum(1, keepdim=True)
    if b.shape[1] == 3 and a.shape[1] == 1:
        b = (b * w.to(b.device)).sum(1, keepdim=True)
    return a, b


# ------------------------------------------------- the project's Fashion-MNIST classifiers
#: Shipped classifier weights (``scripts/train_fashion_classifier.py``; cards hold accuracy):
#: core package data (``ganedit/metric_weights``), as several plugins' metrics share them.
CLASSIFIER_WEIGHTS = "ganedit:metric_weights/fashion-classifier.safetensors"
CLASSIFIER_64_WEIGHTS = "ganedit:metric_weights/fashion-classifier-64.safetensors"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # fmt: skip


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


class FashionClassifier(nn.Module):
    """Small Fashion-MNIST CNN, the project's stand-in for Inception (no download).

    ``size`` 32: items zero-padded 28 -> 32; ``size`` 64: items resized 28 -> 64 (cubic), with
    one more conv + pool block in front. Then ``conv w, pool, conv w, pool, conv 2w, conv 4w``
    (3x3, BN, ReLU), global average pool -> ``4 * width`` features (the Fréchet space) ->
    dropout -> linear 10. Input ``(N, 1, size, size)`` float in [0, 1].
    """

    def __init__(self, width: int = 24, size: int = 32) -> None:
        super().__init__()
        if size not in (32, 64):
            raise ValueError(f"classifier size must be one of (32, 64), got {size}")
        w = width
        stem: list[nn.Module] = [*_block(1, w // 2), nn.MaxPool2d(2)] if size == 64 else []
        self.size = size
        self.features_net = nn.Sequential(
            *stem, *_block(w // 2 if size == 64 else 1, w), nn.MaxPool2d(2),
            *_block(w, w), nn.MaxPool2d(2), *_block(w, 2 * w), *_block(2 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(4 * w, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, size, size)`` float [0, 1] -> ``(N, 4 * width)`` float32 features."""
        return self.features_net(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, 10)`` for ``x``: ``(N, 1, size, size)`` float in ``[0, 1]``."""
        return self.head(self.dropout(self.features(x)))


def prepare(x: torch.Tensor, size: int = 32) -> torch.Tensor:
    """Bring images to a classifier's input.

    Args:
        x: ``(N, C, H, W)``, C in {1, 3} (3: luma); float in [0, 1] or uint8. 28x28 items are
            zero-padded (``size`` 32) or resized bicubically (64), as in training; other
            sizes resized (bilinear, antialiased).
        size: the classifier's side, 32 or 64.

    Returns:
        ``(N, 1, size, size)`` float32 in [0, 1].
    """
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
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
        x = F.interpolate(x, (size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(0, 1)


def load_classifier(
    weights: str | Path = CLASSIFIER_WEIGHTS, device: str | torch.device = "cpu"
) -> tuple[FashionClassifier, dict]:
    """A shipped classifier (``.safetensors`` path or ``"package:path"``), eval mode, fp32,
    on ``device``, and its card."""
    from ganedit.weights import load_weights, resolve_resource

    text = str(weights)
    path = resolve_resource(text) if ":" in text and not Path(text).exists() else Path(text)
    state, card = load_weights(path)
    cfg = card.get("config", {})
    net = FashionClassifier(width=int(cfg.get("width", 24)), size=int(cfg.get("size", 32)))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.to(device).eval(), card


@torch.no_grad()
def features_and_predictions(
    net: FashionClassifier, images: torch.Tensor, batch: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(N, F)`` float32 and predicted classes ``(N,)`` int64 (CPU) of ``images``:
    ``(N, C, H, W)`` uint8 or float in [0, 1] (see :func:`prepare`)."""
    feats, preds = [], []
    dev = next(net.parameters()).device
    for i in range(0, images.shape[0], batch):
        f = net.features(prepare(images[i : i + batch], net.size).to(dev))
        feats.append(f.float().cpu())
        preds.append(net.head(f).argmax(1).cpu())
    return torch.cat(feats), torch.cat(preds)


# ----------------------------------------------------------------------- Fréchet distance
def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (float64) of ``(N, D)`` features."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) features, got shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet (2-Wasserstein) distance squared between ``N(mu1, sigma1)`` and
    ``N(mu2, sigma2)``: ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``, the trace
    term from the eigenvalues of the PSD ``S1^(1/2) S2 S1^(1/2)`` (no scipy), float64.

    Args:
        mu1, mu2: ``(D,)`` means. sigma1, sigma2: ``(D, D)`` symmetric PSD covariances.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r1 = _sqrt_psd(s1)
    inner = r1 @ s2 @ r1
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
