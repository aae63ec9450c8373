"""Issue 2's "done when": one folder holding good images and every kind of bad input, run
through ``ganedit run`` end to end. Every good file is written, every bad one is listed with its
reason in the summary and the manifest, and the exit code is 1."""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from test_cli import _save_tiny

from ganedit.cli import cli

sys.path.insert(0, str(Path(__file__).parent / "io"))  # the I/O tests' hand-made image bytes
from imgbytes import CMYK_JPEG, png  # noqa: E402


def _encode(ext: str, img: np.ndarray) -> bytes:
    arr = img
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(ext, arr)
    assert ok
    return buf.tobytes()


def _palette_png() -> bytes:
    plte = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])
    rows = [bytes([(x + y) % 3 for x in range(12)]) for y in range(10)]
    return png(12, 10, 8, 3, rows, [(b"PLTE", plte)])


def _bomb_png() -> bytes:
    """A small, well-formed PNG whose header claims 100000 x 100000 pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, tuple[int, ...]], dict[str, str]]:
    """``(folder, good: rel -> expected output shape, bad: rel -> words the reason must hold)``."""
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    (src / "sub dir").mkdir(parents=True)
    rgb = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    deep = rng.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    gray = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    good_files = {
        "rgb.png": (_encode(".png", rgb), (20, 24, 3)),
        "rgba.png": (_encode(".png", rgba), (20, 24, 4)),
        "deep16.png": (_encode(".png", deep), (20, 24, 3)),
        "gray.png": (_encode(".png", gray), (20, 24)),
        "palette.png": (_palette_png(), (20, 24, 3)),
        "cmyk.jpg": (CMYK_JPEG, (32, 32, 3)),
        "photo.jpg": (_encode(".jpg", rgb), (20, 24, 3)),
        "sub dir/ñämé 猫.webp": (_encode(".webp", rgb), (20, 24, 3)),
        "tiff.tif": (_encode(".tif", rgb), (20, 24, 3)),
        "bmp.bmp": (_encode(".bmp", rgb), (20, 24, 3)),
    }
    jpeg = _encode(".jpg", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    pngb = _encode(".png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    bad_files = {
        "empty.png": (b"", "empty"),
        "truncated.png": (pngb[: len(pngb) // 2], "cut short"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "cut short"),
        # the true reason: sniffed as text, no image format (not a "PNG that is damaged")
        "text.png": (b"hello, I am a text file\n", "not an image: the contents (text, starting"),
        "bomb.png": (_bomb_png(), "pixel"),
    }
    for rel, (data, _) in {**good_files, **bad_files}.items():
        (src / rel).write_bytes(data)
    (src / "notes.txt").write_text("not an image")  # skipped and counted, not a failure
    (src / ".hidden.png").write_bytes(b"")  # hidden: skipped
    good = {rel: shape for rel, (_, shape) in good_files.items()}
    bad = {rel: words for rel, (_, words) in bad_files.items()}
    return src, good, bad


def _read(path: Path) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)


def test_every_bad_input_is_reported_and_every_good_file_written(
    plugin_path, mixed_folder, tmp_path: Path
) -> None:
    src, good, bad = mixed_folder
    missing = tmp_path / "no such folder"
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu"]
        + [str(src), str(missing), str(out)],
    )
    assert result.exit_code == 1, result.output
    assert f"done {len(good)}, skipped 0, failed {len(bad) + 1}" in result.stdout

    for rel, shape in good.items():
        written = out / Path(rel).with_suffix(Path(rel).suffix)
        img = _read(written)
        assert img is not None and img.shape == shape, rel
    assert _read(out / "deep16.png").dtype == np.uint16
    assert not (out / "notes.txt").exists() and not (out / ".hidden.png").exists()
    for rel in bad:
        assert not (out / rel).exists()
        assert rel in result.stderr  # the summary names each bad file

    manifest = json.loads((out / "ganedit-run.json").read_text())
    records = {Path(r["input"]).name: r for r in manifest["files"]}
    for rel, words in bad.items():
        rec = records[Path(rel).name]
        assert rec["status"] == "failed"
        assert words in rec["error"].lower(), (rel, rec["error"])
    assert records[missing.name]["status"] == "failed"
    assert records[missing.name]["error"] == "input not found"
    assert sum(r["status"] == "done" for r in records.values()) == len(good)


def test_unwritable_output_folder_is_a_clear_failure(plugin_path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder")
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(_encode(".png", np.zeros((8, 8, 3), np.uint8)))
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    try:
        result = CliRunner().invoke(
            cli,
            ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu", str(src), str(out)],
        )
    finally:
        out.chmod(stat.S_IRWXU)
    # not a usage error: the folder exists and is named right; the run cannot write its lock
    # file there (an OSError: exit 1, "an error", ganedit/cli/__init__.py)
    assert result.exit_code == 1, result.output
    assert str(out) in result.output and "permission denied" in result.output.lower()


def test_output_file_that_cannot_be_created_is_reported(plugin_path, tmp_path: Path) -> None:
    """Root ignores folder permissions, so block the output path with a file where the
    sub-folder must go: that image fails with a reason naming it, the others are written."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    img = _encode(".png", np.zeros((8, 8, 3), np.uint8))
    (src / "a.png").write_bytes(img)
    (src / "sub" / "b.png").write_bytes(img)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where a folder must go")
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    result = CliRunner().invoke(
        cli, ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu", str(src), str(out)]
    )
    assert result.exit_code == 1, result.output
    assert (out / "a.png").exists()
    assert "b.png" in result.stderr
    assert (out / "sub").read_text() == "a file where a folder must go"  # nothing lost


def test_files_other_readers_read_are_done_and_damaged_ones_say_why(
    plugin_path, tmp_path: Path
) -> None:
    """Issue 24 end to end: files OpenCV cannot read or misreads are done (through Pillow,
    noted in the manifest) with the right channels; damaged and unsupported ones fail saying
    "corrupt" or "unsupported"; no traceback."""
    import io as _io

    from imagefiles import bmp_file, tiff_file
    from PIL import Image

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    rgb = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    bmp = bmp_file(8, 8, 24, rgb.tobytes())
    (src / "clip.dib").write_bytes(bmp[14:])  # no file header
    px = np.full((8, 8), 0xFFFF, np.uint16)
    (src / "565.bmp").write_bytes(
        bmp_file(8, 8, 16, px.tobytes(), compression=3, masks=(0xF800, 0x07E0, 0x001F))
    )
    gray4 = bytes([0x0F, 0xF0, 0x5A, 0xA5] * 8)
    (src / "gray4.tif").write_bytes(
        tiff_file(8, 8, {258: (3, [4]), 259: (3, [1]), 262: (3, [1]), 277: (3, [1])}, gray4)
    )
    frames = [Image.fromarray(np.dstack([rgb, np.full((8, 8), a, np.uint8)])) for a in (9, 99)]
    buf = _io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], default_image=True)
    (src / "anim.png").write_bytes(buf.getvalue())
    jpeg = _encode(".jpg", rgb)
    sof = jpeg.index(b"\xff\xc0")
    (src / "junk.jpg").write_bytes(jpeg[:sof] + b"\x00\x01" + jpeg[sof:])
    (src / "odd.bmp").write_bytes(bmp_file(8, 8, 24, rgb.tobytes(), header_size=41))
    (src / "tiles.tif").write_bytes(tiff_file(
        8, 8, {258: (3, [8]), 259: (3, [1]), 262: (3, [1]), 277: (3, [1]), 322: (3, [8]),
               323: (3, [8]), 324: (4, [8]), 325: (4, [64])}, bytes(64)))  # fmt: skip
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    result = CliRunner().invoke(
        cli, ["run", "tiny-sr", "--weights", str(weights), "--device", "cpu", str(src), str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "done 5, skipped 0, failed 2" in result.stdout and "Traceback" not in result.output
    records = {
        Path(r["input"]).name: r
        for r in json.loads((out / "ganedit-run.json").read_text())["files"]
    }  # noqa: E501
    assert "unsupported BMP header" in records["odd.bmp"]["error"]
    assert "corrupt" in records["tiles.tif"]["error"]
    assert "Pillow" in records["gray4.tif"]["warning"] and "DIB" in records["clip.dib"]["warning"]
    assert _read(out / "clip.dib").shape == (16, 16, 3)
    assert _read(out / "gray4.tif").shape == (16, 16)
    assert _read(out / "anim.png").shape == (16, 16, 4)
    assert _read(out / "565.bmp").shape == (16, 16, 3) and _read(out / "junk.jpg") is not None
