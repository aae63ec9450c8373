"""Issue 13, item 8: an input named on the command line in a format ganedit cannot read (SVG,
HEIC, ...) is a failure with its reason, not silently skipped; an animated or multi-page file
is processed from its first frame, with a note."""

from __future__ import annotations

import io

from cli_runs import manifest, run_tiny, save_tiny_weights
from PIL import Image

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_unreadable_formats_named_directly_fail_with_their_reason(plugin_path, tmp_path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "logo.svg").write_bytes(SVG)
    (src / "phone.heic").write_bytes(HEIC)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src / "logo.svg", src / "phone.heic", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "failed 2" in result.stdout
    assert "SVG" in result.stderr and "HEIC" in result.stderr
    files = manifest(tmp_path / "out")["files"]
    assert {f["status"] for f in files} == {"failed"} and len(files) == 2


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (8, 6), (40 * i, 10, 200)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:])
    return buf.getvalue()


def test_animated_and_multi_page_files_use_the_first_frame_with_a_note(
    plugin_path, tmp_path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "anim.gif").write_bytes(_animated("GIF"))
    (src / "pages.tif").write_bytes(_animated("TIFF"))
    (src / "apng.png").write_bytes(_animated("PNG"))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    paths = [src / n for n in ("anim.gif", "pages.tif", "apng.png")]
    result = run_tiny(weights, *paths, tmp_path / "out")
    assert result.exit_code == 0, result.output
    for rec in manifest(tmp_path / "out")["files"]:
        assert rec["status"] == "done"
        assert "3 frames or pages; only the first one is used" in rec["warning"]
    assert (tmp_path / "out" / "anim.png").is_file()  # GIF is written as PNG


def test_a_fifo_or_broken_link_named_directly_fails_without_blocking(plugin_path, tmp_path):
    import os

    src = tmp_path / "in"
    src.mkdir()
    os.mkfifo(src / "pipe.png")
    (src / "gone.png").symlink_to(src / "nowhere.png")
    (src / "real.png").write_bytes(_animated("PNG"))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src / "pipe.png", src / "gone.png", src / "real.png",
                      tmp_path / "out")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "done 1, skipped 0, failed 2" in result.stdout
    assert "named pipe" in result.stderr and "broken symbolic link" in result.stderr
