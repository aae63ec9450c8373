"""The inpainting training monitors: :func:`batch_monitor` (the network against its own
pre-fill on every training batch, the ``mon_*`` columns) and :class:`FillMonitor` (the EMA
generator against its pre-fill on fixed validation crops, written into ``metrics.jsonl``
every ``monitor_every`` steps).

Turned on by the Config field ``monitor_data`` (a folder of photos that training does not
use). The crops are fixed: each photo is resized so that its shorter side is
``2 * crop_size``, its centre ``crop_size`` square is cut, and it gets a ``medium`` and a
``thick`` mask drawn from :class:`ganedit.data.MaskGenerator` with seed ``i``, so every row
compares the same pixels. Columns (``val_`` prefix): ``change`` (mean |output - pre-fill|
over the hole), ``gain_db`` (hole PSNR of the output minus that of the pre-fill), ``energy``
and ``energy_base`` (gradient energy in the hole, output and pre-fill, over the original's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ganedit import data as gdata
from ganedit.io import IMAGE_EXTENSIONS, read_image
from ganedit_inpaint.losses import gradient_magnitude, masked_l1

__all__ = ["FillMonitor", "batch_monitor", "gradient_energy", "monitor_crops"]


def gradient_energy(x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean Sobel magnitude (:func:`~ganedit_inpaint.losses.gradient_magnitude`) of ``x``
    over ``region`` per image: ``(N, 3, H, W)`` in [0, 1], ``(N, 1, H, W)`` -> ``(N,)``."""
    r = region.float()
    return (gradient_magnitude(x) * r).sum((1, 2, 3)) / r.sum((1, 2, 3)).clamp_min(1.0)


@torch.no_grad()
def batch_monitor(
    x: torch.Tensor, m: torch.Tensor, filled: torch.Tensor, base: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The network against its own starting point on the same batch (training monitor).

    Args:
        x: ``(N, 3, H, W)`` float32 in [0, 1], the originals.
        m: ``(N, 1, H, W)`` float32 in {0, 1}, 1 = hole.
        filled: ``(N, 3, H, W)`` float32 in [0, 1], the composited output.
        base: ``(N, 3, H, W)`` float32, what the network started from (the pre-fill).

    Returns:
        ``mon_change``: mean |filled - base| over the hole (what the network adds);
        ``mon_l1_gain``: hole L1 of the pre-fill minus that of the output (> 0: closer to
        the original than the pre-fill); ``mon_energy`` / ``mon_energy_base``: mean gradient
        energy of the output / pre-fill over the hole, divided by the original's.
    """
    base = base * m + x * (1 - m)
    e_x = gradient_energy(x, m).mean().clamp_min(1e-6)
    return {
        "mon_change": masked_l1(filled, base, m),
        "mon_l1_gain": masked_l1(base, x, m) - masked_l1(filled, x, m),
        "mon_energy": gradient_energy(filled, m).mean() / e_x,
        "mon_energy_base": gradient_energy(base, m).mean() / e_x,
    }


def monitor_crops(folder: Path, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed crops and masks of ``folder`` (module docstring).

    Returns:
        ``(x, m)``: ``(2K, 3, crop, crop)`` float32 in [0, 1] and ``(2K, 1, crop, crop)``
        float32 in {0, 1} for K photos (each photo once with a medium, once with a thick
        mask).
    """
    files = [p for p in sorted(Path(folder).rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
    xs, ms = [], []
    for kind in ("medium", "thick"):
        for i, path in enumerate(files):
            img = read_image(path)
            img = img[:, :, None] if img.ndim == 2 else img
            img = img[:, :, :3] if img.shape[2] >= 3 else np.repeat(img[:, :, :1], 3, 2)
            a = img.astype(np.float32) / (65535.0 if img.dtype == np.uint16 else 255.0)
            h, w = a.shape[:2]
            f = 2 * crop / min(h, w)
            size = (max(crop, round(w * f)), max(crop, round(h * f)))
            b = np.asarray(cv2.resize(a, size, interpolation=cv2.INTER_AREA), np.float32)
            y0, x0 = (b.shape[0] - crop) // 2, (b.shape[1] - crop) // 2
            xs.append(torch.from_numpy(b[y0 : y0 + crop, x0 : x0 + crop]).permute(2, 0, 1))
            ms.append(gdata.MaskGenerator(kind).from_seeds([i], crop, crop)[0])
    if not xs:
        raise gdata.DatasetError(f"monitor_data: no images under {folder}")
    return torch.stack(xs).float(), torch.stack(ms).float()


class FillMonitor:
    """A training callback (``on_step_end``) that logs the ``val_*`` columns."""

    def __init__(self) -> None:
        self.fixed: tuple[torch.Tensor, torch.Tensor] | None = None

    def on_step_end(self, engine: Any, family: Any, config: Any, step: int) -> None:
        """Every ``config.monitor_every`` steps: fill the fixed crops with the EMA generator
        (eval mode) and ``engine.log`` the comparison with the pre-fill."""
        every = int(getattr(config, "monitor_every", 0) or 0)
        if not config.monitor_data or every <= 0 or step % every != 0:
            return
        from ganedit_inpaint.fill import fill_and_base

        if self.fixed is None:
            self.fixed = monitor_crops(Path(config.monitor_data), int(config.crop_size))
        x, m = (t.to(engine.device) for t in self.fixed)
        net = engine.generator_copies(family.generators)["generator"]
        was = net.training
        net.eval()
        with torch.no_grad():
            raw, base = fill_and_base(net, x, m, config)
        net.train(was)
        filled, base = raw * m + x * (1 - m), base * m + x * (1 - m)
        e_x = gradient_energy(x, m).clamp_min(1e-6)

        def psnr(y: torch.Tensor) -> torch.Tensor:
            mse = ((y - x).square() * m).sum((1, 2, 3)) / (3 * m.sum((1, 2, 3))).clamp_min(1)
            return -10 * torch.log10(mse.clamp_min(1e-10))

        row = {
            "val_change": float(((filled - base).abs() * m).sum() / (3 * m.sum()).clamp_min(1)),
            "val_gain_db": float((psnr(filled) - psnr(base)).mean()),
            "val_energy": float((gradient_energy(filled, m) / e_x).mean()),
            "val_energy_base": float((gradient_energy(base, m) / e_x).mean()),
        }
        engine.log(row, step)
