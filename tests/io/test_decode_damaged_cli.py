"""Issue 13, item 4: a JPEG cut short and closed with an end marker (the decoder fills the
rest in grey) is a failure ("cut short") unless --accept-damaged; a real grey JPEG is fine."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from cli_runs import events, manifest, run_tiny, save_tiny_weights

from ganedit.io import ImageReadError, decode_image
from ganedit.io.decode import decode_file


def _jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def _damaged() -> bytes:
    rng = np.random.default_rng(0)
    good = _jpeg(rng.integers(0, 256, (48, 40, 3), np.uint8))
    return good[: len(good) // 2] + b"\xff\xd9"


def test_damaged_jpeg_is_refused_as_cut_short() -> None:
    with pytest.raises(ImageReadError, match="cut short"):
        decode_image(_damaged())
    kept = decode_file(_damaged(), accept_damaged=True)
    assert kept.pixels.shape == (48, 40, 3) and "accepted" in kept.notes[0]


def test_damaged_progressive_jpeg_is_refused() -> None:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), np.uint8), (7, 7), 3)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    good = buf.tobytes()
    assert decode_image(good).shape == (64, 64, 3)
    with pytest.raises(ImageReadError, match="cut short"):
        decode_image(good[: len(good) // 2] + b"\xff\xd9")


@pytest.mark.parametrize("value", [128, 0, 255])
def test_flat_grey_jpegs_are_not_damaged(value: int) -> None:
    img = np.full((24, 24, 3), value, np.uint8)
    assert decode_image(_jpeg(img)).shape == (24, 24, 3)


def test_damaged_jpeg_in_a_run_fails_unless_accepted(plugin_path, tmp_path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "half.jpg").write_bytes(_damaged())
    (src / "good.jpg").write_bytes(_jpeg(np.full((16, 16, 3), 90, np.uint8)))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, tmp_path / "out")
    assert result.exit_code == 1
    assert "half.jpg" in result.stderr and "cut short" in result.stderr
    assert not (tmp_path / "out" / "half.jpg").exists()
    accepted = run_tiny(weights, "--accept-damaged", "--json", src, tmp_path / "out2")
    assert accepted.exit_code == 0, accepted.output
    recs = {r["input"].rsplit("/", 1)[-1]: r for r in manifest(tmp_path / "out2")["files"]}
    assert recs["half.jpg"]["status"] == "done" and "accepted" in recs["half.jpg"]["warning"]
    assert events(accepted.stdout)[-1]["done"] == 2
