"""What the tests of the translation families (pix2pix, cyclegan, cut) share: the tiny
settings (CPU, 16 px crops) and the odd-sizes run over a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ganedit_translate
import numpy as np
from imagefiles import random_image, write_test_image

import ganedit
from ganedit.config import update_config

#: the bundled weights (package data of the plugin)
WEIGHTS_DIR = Path(ganedit_translate.__file__).resolve().parent / "weights"
#: the critic, batch and jitter settings of every tiny translation config
TINY_TRAINING = {"ndf": 4, "d_layers": 1, "batch_size": 2, "load_size": 20, "crop_size": 16}
#: cyclegan and cut: gray, 4 channels wide, one residual block
TINY_UNPAIRED = {"channels": 1, "width": 4, "blocks": 1, **TINY_TRAINING}

#: name, (H, W, C) and dtype of the odd-sized files of :func:`check_odd_sizes`
ODD_FILES = (
    ("gray", (37, 29, 1), np.uint8),
    ("rgb", (21, 40, 3), np.uint8),
    ("rgba", (18, 18, 4), np.uint8),
    ("deep", (25, 23, 3), np.uint16),
)


def tiny_config(config_cls: type, settings: dict[str, Any], **kw: Any) -> Any:
    """``config_cls()`` with ``settings``, then ``kw``, applied."""
    return update_config(config_cls(), {**settings, **kw})


def check_odd_sizes(family: Any, tmp_path: Path, **run_kwargs: Any) -> None:
    """Gray, RGB, RGBA and 16-bit files of odd sizes through ``ganedit.run_folder``: each
    comes back with its own size, channels and dtype (padded to the size multiple, cropped
    back)."""
    src = tmp_path / "in"
    for name, (h, w, c), dtype in ODD_FILES:
        write_test_image(src / f"{name}.png", random_image(h, w, c, dtype=dtype))
    report = ganedit.run_folder(family, [src], tmp_path / "out", progress=False, **run_kwargs)
    assert not report.failed and len(report.done) == len(ODD_FILES)
    for name, shape, dtype in ODD_FILES:
        out = ganedit.read_image(tmp_path / "out" / f"{name}.png")
        assert out.shape == shape and out.dtype == dtype, name
