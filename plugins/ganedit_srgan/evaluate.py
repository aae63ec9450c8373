"""``ganedit eval srgan``: PSNR / SSIM on the Y channel against plain bicubic upscaling.

The protocol of the SR literature (Set5/Set14/BSD100 tables): each HR image is cropped to a
multiple of the scale, its LR input is made by the same antialiased bicubic downscale used in
training (stored at 8 bits, as an LR file would be), the model's output and the bicubic
upscale of the same LR image are stored at 8 bits, converted to Y (``kornia.color.rgb_to_ycbcr``,
full-range BT.601 luma), ``scale`` pixels are shaved off every border, and PSNR
(``kornia.metrics.psnr``, peak 1.0) and SSIM (``kornia.metrics.ssim``, 11x11 Gaussian window,
sigma 1.5, valid region) are computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganedit
from ganedit_srgan.degradations import bicubic_downscale, bicubic_upscale, quantize

__all__ = ["evaluate_sr", "image_to_tensor", "y_psnr_ssim"]


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """An image from :func:`ganedit.io.read_image` as ``(1, 3, H, W)`` float32 RGB in [0, 1].

    Args:
        img: ``(H, W, C)`` uint8 or uint16, C in {1, 3, 4}; alpha is dropped, gray repeated.
    """
    peak = 65535.0 if img.dtype == np.uint16 else 255.0
    x = torch.from_numpy(np.ascontiguousarray(img)).float().div_(peak)
    if x.ndim == 2:
        x = x[..., None]
    x = x.permute(2, 0, 1)[None]
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x[:, :3].contiguous()


def y_psnr_ssim(sr: torch.Tensor, hr: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM of the Y channel, ``border`` pixels shaved off each side.

    Args:
        sr: ``(1, 3, H, W)`` float in [0, 1], the estimate.
        hr: ``(1, 3, H, W)`` float in [0, 1], the reference.
        border: pixels removed at every edge before measuring (the scale, by convention).
    """
    from kornia.color import rgb_to_ycbcr
    from kornia.metrics import psnr, ssim

    ys = rgb_to_ycbcr(sr.float())[:, :1]
    yh = rgb_to_ycbcr(hr.float())[:, :1]
    if border > 0:
        ys = ys[..., border:-border, border:-border]
        yh = yh[..., border:-border, border:-border]
    p = float(psnr(ys, yh, 1.0))
    s = float(ssim(ys, yh, 11, 1.0, padding="valid").mean())
    return p, s


def _collect(data: Sequence[Path], n: int | None) -> list[tuple[Path, str]]:
    from ganedit.io import walk_inputs

    if not data:
        from ganedit.weights import resolve_resource

        data = [resolve_resource("ganedit_srgan:samples")]
    walk = walk_inputs([Path(d) for d in data])
    if walk.missing:
        raise ValueError(f"{walk.missing[0]}: evaluation data not found")
    items = [(it.path, str(it.rel)) for it in walk.items]
    if not items:
        raise ValueError(f"no images found in {', '.join(map(str, data))}")
    return items[:n] if n else items


@torch.no_grad()
def evaluate_sr(
    editor: Any, data: Sequence[Path], options: Mapping[str, Any]
) -> ganedit.EvalResult:
    """Evaluate a loaded srgan editor on HR photos.

    Args:
        editor: what :func:`ganedit.load` returned for ``srgan`` (its ``forward`` takes and
            returns NCHW float [0, 1] tensors).
        data: HR image files or folders (default: the bundled samples).
        options: ``n`` (evaluate only the first n images, None = all); other keys ignored.

    Returns:
        ``{"rows": [{"image", "width", "height", "psnr", "ssim", "psnr_bicubic",
        "ssim_bicubic"}], "summary": {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic",
        "psnr_gain", "ssim_gain", "images"}}``; PSNR in dB on Y, means over images.
    """
    from ganedit.io import read_image

    config = editor.config
    scale = int(editor.family.io(config).scale)
    rows: list[dict[str, Any]] = []
    for path, name in _collect(list(data), options.get("n")):
        hr = image_to_tensor(read_image(path))
        h, w = hr.shape[-2:]
        h, w = h - h % scale, w - w % scale
        if h < 4 * scale or w < 4 * scale:
            raise ValueError(f"{path}: {w}x{h} is too small to evaluate at x{scale}")
        hr = quantize(hr[..., :h, :w])
        lr = quantize(bicubic_downscale(hr, scale))
        sr = editor.forward(lr.to(editor.device)).float().cpu()
        if sr.shape[-2:] != hr.shape[-2:]:
            raise ValueError(f"{path}: model output {tuple(sr.shape[-2:])} != HR {(h, w)}")
        sr = quantize(sr.clamp(0, 1))
        bic = quantize(bicubic_upscale(lr, scale))
        p, s = y_psnr_ssim(sr, hr, scale)
        pb, sb = y_psnr_ssim(bic, hr, scale)
        rows.append(
            {
                "image": name,
                "width": w,
                "height": h,
                "psnr": round(p, 3),
                "ssim": round(s, 4),
                "psnr_bicubic": round(pb, 3),
                "ssim_bicubic": round(sb, 4),
            }
        )
    mean = {
        k: float(np.mean([r[k] for r in rows]))
        for k in ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic")
    }
    summary = {
        **{k: round(v, 4) for k, v in mean.items()},
        "psnr_gain": round(mean["psnr"] - mean["psnr_bicubic"], 3),
        "ssim_gain": round(mean["ssim"] - mean["ssim_bicubic"], 4),
        "images": len(rows),
        "scale": scale,
    }
    return {"rows": rows, "summary": summary}
