"""Every tiny family of ganedit.testing through the folder runner: layouts kept per the
family's channels, tiles per its tiling policy (exact for SUPPORTED, whole for UNTILED)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganedit.family import Kind, TilingMode
from ganedit.infer import load, run_folder
from ganedit.io import read_image, write_image
from ganedit.testing.families import TINY_FAMILIES

IMAGE_FAMILIES = [n for n, (cls, _cfg) in TINY_FAMILIES.items() if cls.kind is not Kind.GENERATE]


def _folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    src = root / "in"
    write_image(src / "rgb.png", rng.integers(0, 256, (36, 44, 3)).astype(np.uint8))
    write_image(src / "gray.png", rng.integers(0, 256, (36, 44, 1)).astype(np.uint8))
    rgba = rng.integers(0, 256, (36, 44, 4)).astype(np.uint8)
    rgba[..., 3] = np.where(rng.random((36, 44)) < 0.2, 0, 255)
    write_image(src / "rgba.png", rgba)
    write_image(src / "deep.png", rng.integers(0, 65536, (36, 44, 3)).astype(np.uint16))
    return src


@pytest.mark.parametrize("name", IMAGE_FAMILIES)
def test_tiny_family_runs_over_a_folder(name: str, tmp_path: Path) -> None:
    cls, _cfg = TINY_FAMILIES[name]
    src = _folder(tmp_path)
    ed = load(cls(), weights=False)
    io, s = ed.io, ed.scale
    masked = cls.kind is Kind.IMAGE_MASK  # without masks: the RGBA file's alpha is its mask
    whole = run_folder(ed, src, tmp_path / "whole", tile=0, progress=False)
    assert whole.exit_code == int(masked), whole.failed
    colour = io.out_channels if io.in_channels != io.out_channels else None
    expect = {
        "rgb.png": colour or 3,
        "gray.png": colour or 1,
        "rgba.png": (colour or 3) + (0 if masked else 1),
        "deep.png": colour or 3,
    }
    if masked:
        assert sorted(p.name for p in whole.done) == ["rgba.png"]
        expect = {"rgba.png": expect["rgba.png"]}
    for file, channels in expect.items():
        out = read_image(tmp_path / "whole" / file)
        assert out.shape == (36 * s, 44 * s, channels), (name, file)
        assert out.dtype == (np.uint16 if file == "deep.png" else np.uint8)
    tiled = run_folder(ed, src, tmp_path / "tiled", tile=16, tile_overlap=4, progress=False)
    if io.tiling.mode is TilingMode.UNTILED:
        assert any("cannot be tiled" in w for w in tiled.warnings)
    for file in expect:
        a = read_image(tmp_path / "whole" / file).astype(int)
        b = read_image(tmp_path / "tiled" / file).astype(int)
        tol = 1 if io.tiling.mode is not TilingMode.NEEDS_CONTEXT else 255
        peak = 65535 if file == "deep.png" else 255
        assert np.abs(a - b).max() <= tol * (peak // 255), (name, file)
