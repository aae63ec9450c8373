"""Issue 13, item 7: tiles are blended into the integer output in strips (no full-size float
result), equal to the untiled result within one level; the output size is checked against
``GANEDIT_MAX_OUTPUT_PIXELS`` from the header, before the file is decoded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cli_runs import images, manifest, run_tiny, save_tiny_weights

from ganedit.infer import load
from ganedit.infer.resize import StripResizer
from ganedit.infer.tiling import tiled
from ganedit.testing import TinyUpscale


@pytest.mark.parametrize(
    ("dtype", "channels", "outscale"),
    [(np.uint8, 3, None), (np.uint8, 4, None), (np.uint16, 4, None), (np.uint8, 4, 3.3),
     (np.uint8, 1, 1.5), (np.uint16, 3, 0.7)],
)  # fmt: skip
def test_strips_equal_the_untiled_result_within_one_level(dtype, channels, outscale) -> None:
    top = np.iinfo(dtype).max
    img = np.random.default_rng(1).integers(0, top + 1, (45, 37, channels)).astype(dtype)
    whole = load(TinyUpscale(), weights=False, tile=0, outscale=outscale)(img)
    tiled = load(TinyUpscale(), weights=False, tile=16, tile_overlap=8, outscale=outscale)(img)
    assert tiled.shape == whole.shape and tiled.dtype == whole.dtype
    assert np.abs(tiled.astype(np.int64) - whole.astype(np.int64)).max() <= 1


def test_no_strip_is_taller_than_a_row_of_tiles() -> None:
    x = torch.rand(1, 3, 200, 60)
    heights = [s.shape[2] for _, _, s in tiled(lambda d: d["image"].repeat_interleave(2, -1)
               .repeat_interleave(2, -2), {"image": x}, scale=2, tile=32, overlap=8, strips=True)]  # fmt: skip
    assert sum(heights) == 400 and max(heights) <= 32 * 2


def test_strip_resizer_matches_interpolate() -> None:
    x = torch.rand(1, 3, 41, 29)
    for size, aa in (((130, 101), True), ((17, 13), True), ((90, 64), False)):
        ref = F.interpolate(x, size=size, mode="bicubic", antialias=aa, align_corners=False)
        r = StripResizer(41, *size, antialias=aa, rows_per_strip=7)
        got = torch.cat([o for s in range(0, 41, 9) for _, o in r.feed(s, x[:, :, s : s + 9])], 2)
        assert (got - ref).abs().max() < 1e-4


def test_output_over_the_limit_fails_before_decoding_saying_what_to_do(
    plugin_path, tmp_path
) -> None:
    images(tmp_path / "in", n=1, size=(20, 30))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    env = {"GANEDIT_MAX_OUTPUT_PIXELS": "1000"}  # 40x60 = 2400 output pixels at x2
    result = run_tiny(weights, tmp_path / "in", tmp_path / "out", env=env)
    assert result.exit_code == 1
    (rec,) = manifest(tmp_path / "out")["files"]
    assert rec["status"] == "failed"
    for words in ("output limit", "--outscale", "GANEDIT_MAX_OUTPUT_PIXELS", "60x40"):
        assert words in rec["error"]
    smaller = run_tiny(weights, "--outscale", "0.5", tmp_path / "in", tmp_path / "out2", env=env)
    assert smaller.exit_code == 0, smaller.output


def test_the_python_api_checks_the_output_size_first(monkeypatch) -> None:
    monkeypatch.setenv("GANEDIT_MAX_OUTPUT_PIXELS", "100")
    ed = load(TinyUpscale(), weights=False)
    with pytest.raises(ValueError, match="^image: .*output limit"):
        ed(np.zeros((10, 10, 3), np.uint8))
    assert ed(np.zeros((5, 5, 3), np.uint8)).shape == (10, 10, 3)


def test_a_tiled_edit_converts_tiles_not_the_whole_input_to_float(monkeypatch) -> None:
    """No float copy of the whole input: each tile is converted on its own (the integer
    image is what the tiles are cut from)."""
    img = np.random.default_rng(2).integers(0, 256, (120, 100, 4)).astype(np.uint8)
    ed = load(TinyUpscale(), weights=False, tile=16, tile_overlap=8)
    want = load(TinyUpscale(), weights=False, tile=0)(img)
    seen: list[tuple[int, ...]] = []
    real = torch.Tensor.to

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(self, *args, **kwargs)
        if out.is_floating_point() and not self.is_floating_point() and self.dim() == 4:
            seen.append(tuple(self.shape))
        return out

    monkeypatch.setattr(torch.Tensor, "to", spy)
    got = ed(img)
    monkeypatch.undo()
    assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1
    whole = 120 * 100 * 3  # the colour channels of the whole input
    assert seen and all(int(np.prod(s)) < whole // 2 for s in seen), seen  # tiles only
