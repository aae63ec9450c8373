"""Cut the srgan quick-start samples (plugins/ganedit_srgan/samples/) from the project photos.

Run from the repository root after scripts/fetch_data.py:
    .venv/bin/python scripts/make_srgan_samples.py
Crop boxes are fixed so the samples are reproducible; see plugins/ganedit_srgan/CREDITS.md for
the credits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganedit.io import read_image, write_image

PHOTOS = Path("data/photos")
OUT = Path("plugins/ganedit_srgan/samples")
# name -> (source photo, x, y), 256x256 crops
CROPS = {
    "wine.png": ("val/lomiri-Wine_by_Jakkub_Mede.png", 560, 380),
    "dragonfly.png": ("train/lomiri-Dragonfly_by_Bolly.png", 1064, 472),
    "bridge-alpha.png": ("train/lomiri-Bridge_by_Sander_Klootwijk.png", 1368, 600),
}
SIZE = 256


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (src, x, y) in CROPS.items():
        img = read_image(PHOTOS / src)[y : y + SIZE, x : x + SIZE, :3]
        if "alpha" in name:
            # A diagonal alpha gradient (opaque top-left to 10% bottom-right) to show that
            # alpha survives upscaling.
            yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
            alpha = 255 * (1.0 - 0.9 * (xx + yy) / (2 * (SIZE - 1)))
            img = np.dstack([img, alpha.round().astype(np.uint8)])
        write_image(OUT / name, np.ascontiguousarray(img))
        print(OUT / name, img.shape)


if __name__ == "__main__":
    main()
