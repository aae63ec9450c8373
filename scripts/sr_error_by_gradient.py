"""Where an SR model's error sits: squared Y error binned by the HR image's local gradient.

Splits the pixels of one HR photo by the luma gradient magnitude of the reference
(|dx| + |dy| of Y, in 8-bit steps: flat < 1, smooth 1-3, texture 3-10, edges >= 10) and prints,
for bicubic and for each weights file, the PSNR-Y and each bin's mean squared error and share
of the total. Same protocol as ``ganedit eval srgan`` (8-bit LR from an antialiased bicubic
downscale, border = scale). Used to see that a model loses on a soft photo by over-sharpening
its few strong edges, not in its flat areas.

    python scripts/sr_error_by_gradient.py data/photos/val/mate-Storm.png default runs/x/srgan.safetensors
"""

from __future__ import annotations

import argparse
import json
import math

import torch

import ganedit
from ganedit.io import read_image

BINS = (0.0, 1.0, 3.0, 10.0, 256.0)  # gradient bins in 8-bit steps


def main() -> None:
    from ganedit_srgan.degradations import bicubic_downscale, bicubic_upscale, quantize
    from ganedit_srgan.evaluate import image_to_tensor
    from kornia.color import rgb_to_ycbcr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image", help="an HR photo")
    ap.add_argument("weights", nargs="+", help="srgan .safetensors files, or 'default'")
    ap.add_argument("--scale", type=int, default=4, choices=(2, 4))
    ap.add_argument("--json", action="store_true", help="print one JSON list of the reports")
    args = ap.parse_args()
    s = args.scale

    hr = image_to_tensor(read_image(args.image))
    h, w = hr.shape[-2:]
    hr = quantize(hr[..., : h - h % s, : w - w % s])
    lr = quantize(bicubic_downscale(hr, s))

    def y(t: torch.Tensor) -> torch.Tensor:
        return rgb_to_ycbcr(t)[0, 0, s:-s, s:-s]

    yh = y(hr)
    grad = (yh[1:-1, 2:] - yh[1:-1, :-2]).abs() + (yh[2:, 1:-1] - yh[:-2, 1:-1]).abs()
    grad = grad * 255.0

    def report(name: str, sr: torch.Tensor) -> dict:
        err = ((y(sr) - yh) ** 2)[1:-1, 1:-1]
        total = float(err.sum())
        bins = []
        for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
            m = (grad >= lo) & (grad < hi)
            bins.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "px_share": float(m.float().mean()),
                    "mse": float(err[m].mean()),
                    "error_share": float(err[m].sum()) / total,
                }
            )
        return {"name": name, "psnr_y": -10 * math.log10(float(err.mean())), "bins": bins}

    reports = [report("bicubic", quantize(bicubic_upscale(lr, s)))]
    for spec in args.weights:
        ed = ganedit.load("srgan", weights=None if spec == "default" else spec, device="cpu")
        with torch.no_grad():
            reports.append(report(spec, quantize(ed.forward(lr).float().clamp(0, 1))))
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    for r in reports:
        print(f"{r['name']}: PSNR-Y {r['psnr_y']:.3f} dB")
        for b in r["bins"]:
            print(
                f"    [{b['lo']:g},{b['hi']:g}): {b['px_share']:.2f} of px, "
                f"mse {b['mse'] * 1e6:.1f}e-6, {b['error_share']:.2f} of error"
            )


if __name__ == "__main__":
    main()
