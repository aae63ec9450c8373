"""Issue 13, item 15: the input's ICC profile and EXIF are carried to PNG, JPEG and WebP
outputs (EXIF orientation removed, as it is applied on read; pixel dimensions updated);
formats that cannot keep them (BMP, TIFF) say so."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from cli_runs import manifest, run_tiny, save_tiny_weights
from PIL import Image

ICC = b"\x00\x00\x01\x00fake-icc-profile-for-tests" + bytes(range(200))


def _exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "ganedit-test-camera"  # Make
    exif[0x0112] = orientation
    return exif


def _write_input(path: Path, fmt: str) -> None:
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 256, (6, 10, 3), np.uint8))
    im.save(path, fmt, icc_profile=ICC, exif=_exif())


@pytest.mark.parametrize(("suffix", "fmt"), [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")])
def test_icc_and_exif_are_carried(plugin_path, tmp_path, suffix: str, fmt: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _write_input(src / f"photo{suffix}", fmt)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / f"photo{suffix}") as out:
        assert out.info.get("icc_profile") == ICC
        exif = out.getexif()
        assert exif.get(0x010F) == "ganedit-test-camera"
        assert 0x0112 not in exif  # orientation was applied to the pixels on read
        assert out.size == (6 * 2, 10 * 2)  # rotated (orientation 6) and x2
        out.load()  # the file is still a valid image


def test_formats_without_room_for_metadata_say_so(plugin_path, tmp_path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _write_input(src / "photo.png", "PNG")
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, "--format", "bmp", src, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "cannot be kept in a BMP output" in result.stderr
    (rec,) = manifest(tmp_path / "out")["files"]
    assert "cannot be kept" in rec["warning"]
    stripped = run_tiny(weights, "--strip-metadata", src, tmp_path / "out2")
    assert stripped.exit_code == 0
    with Image.open(tmp_path / "out2" / "photo.png") as out:
        assert "icc_profile" not in out.info and not io.BytesIO(out.info.get("exif", b"")).read()
