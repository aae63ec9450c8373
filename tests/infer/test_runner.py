"""run_folder: mirroring, layouts, bad files, skipping, stopping, events, refusal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from tiny_kit import TinyInpaint, TinyKeep, TinyNorm, TinyUp

from ganedit.config import ConfigError
from ganedit.infer import RunReport, load, run_folder
from ganedit.io import Manifest, encode_image, read_image, write_image


def _img(h: int, w: int, c: int = 3, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    peak = 255 if dtype == np.uint8 else 65535
    return rng.integers(0, peak + 1, size=(h, w, c)).astype(dtype)


def _fresh(family, src: Path, out: Path, **options) -> RunReport:
    """``run_folder`` of a new ``family`` instance with random weights, no progress bar."""
    return run_folder(family(), src, out, weights=False, progress=False, **options)


@pytest.fixture(scope="module")
def up():
    return load(TinyUp(), weights=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    write_image(src / "a.png", _img(16, 20, 3, seed=1))
    write_image(src / "sub" / "b.jpg", _img(13, 17, 3, seed=2))
    write_image(src / "sub" / "deep" / "alpha.png", _img(10, 12, 4, seed=3))
    write_image(src / "gray.png", _img(9, 11, 1, seed=4))
    write_image(src / "sixteen.png", _img(8, 10, 3, np.uint16, seed=5))
    write_image(src / "ünïcode ñame.png", _img(7, 9, 3, seed=6))
    return src


def test_mirrors_tree_and_keeps_layouts(tree: Path, tmp_path: Path, up) -> None:
    out = tmp_path / "out"
    events: list[dict] = []
    report = run_folder(up, [tree], out, progress=False, on_event=events.append)
    assert isinstance(report, RunReport)
    assert report.exit_code == 0 and not report.failed and len(report.done) == 6
    a = read_image(out / "a.png")
    assert a.shape == (32, 40, 3) and a.dtype == np.uint8
    b = read_image(out / "sub" / "b.jpg")
    assert b.shape == (26, 34, 3)
    alpha_in = read_image(tree / "sub" / "deep" / "alpha.png")
    alpha = read_image(out / "sub" / "deep" / "alpha.png")
    assert alpha.shape == (20, 24, 4)
    # alpha resized bicubically: its mean is kept
    assert abs(alpha[..., 3].mean() - alpha_in[..., 3].mean()) < 8
    gray = read_image(out / "gray.png")
    assert gray.shape == (18, 22, 1)
    sixteen = read_image(out / "sixteen.png")
    assert sixteen.dtype == np.uint16 and sixteen.shape == (16, 20, 3)
    assert read_image(out / "ünïcode ñame.png").shape == (14, 18, 3)
    # the editor on the same array gives the same pixels (PNG is lossless)
    assert np.array_equal(a, up(read_image(tree / "a.png")))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert sum(1 for e in events if e["event"] == "file" and e["status"] == "done") == 6
    man = json.loads((out / "ganedit-run.json").read_text())
    assert man["model"] == "tiny-up" and man["counts"]["done"] == 6
    assert man["parameters"]["config"]["scale"] == 2
    assert not list(out.rglob("*.ganedit-tmp"))


def test_bad_files_are_reported_and_run_goes_on(tmp_path: Path, up) -> None:
    src = tmp_path / "in"
    write_image(src / "good.png", _img(12, 12))
    (src / "empty.png").write_bytes(b"")
    data = encode_image(_img(32, 32, seed=9), "png")
    (src / "truncated.png").write_bytes(data[: len(data) // 2])
    (src / "text.png").write_text("hello, I am not an image\n")
    (src / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    report = run_folder(up, [src, tmp_path / "nope.png"], out, progress=False)
    assert report.exit_code == 1
    assert [p.name for p in report.done] == ["good.png"]
    failed = {p.name: why for p, why in report.failed}
    assert set(failed) == {"empty.png", "truncated.png", "text.png", "nope.png"}
    assert "empty" in failed["empty.png"] and "not found" in failed["nope.png"]
    assert (out / "good.png").is_file()
    assert not (out / "empty.png").exists() and not (out / "text.png").exists()
    man = Manifest.load(out)
    statuses = {Path(r["input"]).name: (r["status"], r["error"]) for r in man.records}
    assert statuses["good.png"] == ("done", None)
    assert statuses["truncated.png"][0] == "failed" and statuses["truncated.png"][1]


def test_fail_fast_stops(tmp_path: Path, up) -> None:
    src = tmp_path / "in"
    (src).mkdir()
    (src / "0_bad.png").write_bytes(b"")
    for i in range(1, 6):
        write_image(src / f"{i}.png", _img(8, 8, seed=i))
    report = run_folder(up, src, tmp_path / "out", progress=False, fail_fast=True, jobs=1)
    assert report.exit_code == 1 and report.stopped_early
    # inputs go in sorted order, one at a time: the first, 0_bad.png, fails and stops the run
    # before any other file is written
    assert [p.name for p, _ in report.failed] == ["0_bad.png"] and report.done == []
    assert not list((tmp_path / "out").glob("*.png"))


def test_skip_existing_and_temp_sweep(tree: Path, tmp_path: Path, up) -> None:
    out = tmp_path / "out"
    run_folder(up, tree, out, progress=False)
    stale = out / "sub" / ".b.jpg.abc123.ganedit-tmp"
    stale.write_bytes(b"partial")
    (out / "a.png").unlink()
    report = run_folder(up, tree, out, progress=False, skip_existing=True)
    assert [p.name for p in report.done] == ["a.png"]
    assert len(report.skipped) == 5
    assert not stale.exists()


def test_dry_run_writes_nothing(tree: Path, tmp_path: Path, up, capsys) -> None:
    out = tmp_path / "out"
    events: list[dict] = []
    report = run_folder(up, tree, out, dry_run=True, on_event=events.append, progress=True)
    assert not out.exists()
    assert len(report.planned) == 6 and report.manifest_path is None
    assert (out / "sub" / "b.jpg") in [o for _i, o in report.planned]
    assert sum(e["event"] == "plan" for e in events) == 6
    assert "b.jpg" in capsys.readouterr().out


def test_output_inside_input_is_refused(tree: Path, up) -> None:
    with pytest.raises(ValueError, match="inside the input folder"):
        run_folder(up, tree, tree / "out", progress=False)
    with pytest.raises(ValueError, match="input folder"):
        run_folder(up, tree, tree, progress=False)


def test_nothing_exists_is_a_usage_error(tmp_path: Path, up) -> None:
    with pytest.raises(ValueError, match="not found"):
        run_folder(up, [tmp_path / "missing"], tmp_path / "out", progress=False)


def test_format_override_and_alpha_fallback(tree: Path, tmp_path: Path, up) -> None:
    out = tmp_path / "out"
    with pytest.warns(RuntimeWarning, match="PNG"):
        report = run_folder(up, tree, out, progress=False, format="jpg", quality=90)
    assert report.exit_code == 0
    assert (out / "a.jpg").is_file()
    assert (out / "sub" / "deep" / "alpha.png").is_file()  # alpha kept: PNG instead of JPEG
    assert read_image(out / "sixteen.png").dtype == np.uint16
    assert report.warnings


def test_batch_equals_single(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for i in range(6):
        write_image(src / f"{i}.png", _img(12, 16, seed=i))
    write_image(src / "odd.png", _img(11, 15, seed=7))
    keep = load(TinyKeep(), weights=False)
    r1 = run_folder(keep, src, tmp_path / "b1", progress=False, batch_size=1)
    r4 = run_folder(keep, src, tmp_path / "b4", progress=False, batch_size=4)
    assert r1.exit_code == r4.exit_code == 0
    for i in [*range(6), "odd"]:
        a = read_image(tmp_path / "b1" / f"{i}.png").astype(int)
        b = read_image(tmp_path / "b4" / f"{i}.png").astype(int)
        assert np.abs(a - b).max() <= 1


def test_tiled_close_to_untiled(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_image(src / "big.png", _img(70, 90, seed=3))
    whole = _fresh(TinyUp, src, tmp_path / "whole", tile=0)
    tiled = _fresh(TinyUp, src, tmp_path / "tiled", tile=32, tile_overlap=16)
    assert whole.exit_code == tiled.exit_code == 0
    a = read_image(tmp_path / "whole" / "big.png").astype(int)
    b = read_image(tmp_path / "tiled" / "big.png").astype(int)
    assert np.abs(a - b).max() <= 1


def test_inpaint_with_shared_mask_resized_for_other_sizes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    img = _img(10, 12, seed=2)
    write_image(src / "x.png", img)
    write_image(src / "wrong_size.png", _img(20, 24, seed=3))
    m = np.zeros((10, 12, 1), np.uint8)
    m[2:5, 3:7] = 255
    write_image(tmp_path / "mask.png", m)
    with pytest.warns(RuntimeWarning, match="resized"):
        report = _fresh(TinyInpaint, src, tmp_path / "out", mask=tmp_path / "mask.png")
    assert sorted(p.name for p in report.done) == ["wrong_size.png", "x.png"]
    res = read_image(tmp_path / "out" / "x.png")
    keep = m[..., 0] == 0
    assert np.array_equal(res[keep], img[keep]) and not np.array_equal(res[~keep], img[~keep])
    big_in, big = (
        read_image(src / "wrong_size.png"),
        read_image(tmp_path / "out" / "wrong_size.png"),
    )
    big_keep = np.repeat(np.repeat(keep, 2, axis=0), 2, axis=1)  # nearest x2
    assert np.array_equal(big[big_keep], big_in[big_keep])
    assert not np.array_equal(big[~big_keep], big_in[~big_keep])
    records = {Path(r["input"]).name: r for r in Manifest.load(tmp_path / "out").records}
    assert "resized (nearest) from 12x10 to 24x20" in records["wrong_size.png"]["warning"]
    assert "warning" not in records["x.png"]


def test_inpaint_with_masks_folder_then_alpha_then_failure(tmp_path: Path) -> None:
    src, masks = tmp_path / "in", tmp_path / "masks"
    img = _img(10, 12, seed=2)
    write_image(src / "sub" / "x.png", img)
    write_image(src / "no_mask.png", img)
    hole = np.zeros((10, 12), bool)
    hole[5:8, 1:4] = True
    rgba = np.concatenate([img, np.where(hole, 0, 255).astype(np.uint8)[..., None]], axis=2)
    write_image(src / "alpha.png", rgba)
    m = np.zeros((10, 12, 1), np.uint8)
    m[1:4, 2:6] = 255
    write_image(masks / "sub" / "x.bmp", m)  # any image extension
    report = _fresh(TinyInpaint, src, tmp_path / "out", masks=masks)
    assert sorted(p.name for p in report.done) == ["alpha.png", "x.png"]
    assert "no mask" in dict((p.name, w) for p, w in report.failed)["no_mask.png"]
    res = read_image(tmp_path / "out" / "sub" / "x.png")
    assert np.array_equal(res[m[..., 0] == 0], img[m[..., 0] == 0])
    filled = read_image(tmp_path / "out" / "alpha.png")
    assert filled.shape == (10, 12, 3)  # opaque: its alpha was the mask
    assert np.array_equal(filled[~hole], img[~hole]) and not np.array_equal(filled[hole], img[hole])


def test_inpaint_without_masks_uses_alpha_and_fails_the_others(tmp_path: Path) -> None:
    src = tmp_path / "in"
    write_image(src / "opaque.png", _img(8, 8, seed=1))
    rgba = _img(8, 8, 4, seed=2)
    rgba[..., 3] = 255
    rgba[2:4, 2:4, 3] = 0
    write_image(src / "holed.png", rgba)
    report = _fresh(TinyInpaint, src, tmp_path / "out")
    assert [p.name for p in report.done] == ["holed.png"] and report.exit_code == 1
    why = dict((p.name, w) for p, w in report.failed)["opaque.png"]
    assert "no mask" in why and "alpha" in why
    out = read_image(tmp_path / "out" / "holed.png")
    assert out.shape == (8, 8, 3)
    assert np.array_equal(out[:2], rgba[:2, :, :3])


def test_mask_options_only_for_mask_families(tmp_path: Path, up) -> None:
    src = tmp_path / "in"
    write_image(src / "a.png", _img(8, 8))
    write_image(tmp_path / "m.png", _img(8, 8))
    with pytest.raises(ValueError, match="mask: not an option for tiny-up, an image model"):
        run_folder(up, src, tmp_path / "out", mask=tmp_path / "m.png", progress=False)
    with pytest.raises(ValueError, match="not both"):
        run_folder(
            TinyInpaint(), src, tmp_path / "o", mask=tmp_path / "m.png", masks=src, progress=False
        )


def test_unknown_keyword_is_a_clear_error(tmp_path: Path, up) -> None:
    src = tmp_path / "in"
    write_image(src / "a.png", _img(8, 8))
    with pytest.raises(ConfigError, match="tile_overlap") as info:
        run_folder(TinyUp(), src, tmp_path / "out", weights=False, tile_overlapp=4)
    assert "scale" in str(info.value)  # it names the Config fields too
    with pytest.raises(ValueError, match="quality"):
        run_folder(up, src, tmp_path / "out", quality=0)
    with pytest.raises(ValueError, match="scale cannot change an already loaded Editor"):
        run_folder(up, src, tmp_path / "out", scale=4)  # an Editor's config is fixed
    with pytest.raises(ValueError, match="device, weights cannot change"):
        run_folder(up, src, tmp_path / "out", weights=False, device="cpu")


def test_tiling_notes_are_reported_once(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for i in range(3):
        write_image(src / f"{i}.png", _img(48, 40, seed=i))
    events: list[dict] = []
    with pytest.warns(RuntimeWarning, match="rounded up"):
        report = _fresh(TinyUp, src, tmp_path / "tiled", multiple=16, tile=16, tile_overlap=8,
                        on_event=events.append)  # fmt: skip
    assert report.exit_code == 0
    notes = [w for w in report.warnings if "rounded up" in w]
    assert len(notes) == 1 and sum(e["event"] == "warning" for e in events) == 1
    whole = _fresh(TinyUp, src, tmp_path / "whole", multiple=16, tile=0)
    assert whole.exit_code == 0
    for i in range(3):
        a = read_image(tmp_path / "tiled" / f"{i}.png").astype(int)
        assert np.abs(a - read_image(tmp_path / "whole" / f"{i}.png").astype(int)).max() <= 1
    params = json.loads((tmp_path / "tiled" / "ganedit-run.json").read_text())["parameters"]
    assert params["tile"] == 16 and params["tiling"] == {"tile": 32, "overlap": 16}

    with pytest.warns(RuntimeWarning, match="cannot be tiled"):
        norm = _fresh(TinyNorm, src, tmp_path / "norm", tile=16)
    assert norm.exit_code == 0 and any("cannot be tiled" in w for w in norm.warnings)


def test_two_inputs_never_share_an_output(tmp_path: Path, up) -> None:
    src = tmp_path / "in"
    write_image(src / "x.png", _img(8, 8, seed=1))
    write_image(src / "x.jpg", _img(8, 8, seed=2))
    report = run_folder(up, src, tmp_path / "out", format="png", progress=False)
    assert len(report.done) == 1 and len(report.failed) == 1
    assert "would overwrite the output of" in report.failed[0][1]


def test_a_new_run_option_is_one_field(tmp_path: Path, monkeypatch) -> None:
    """Adding a field to RunOptions makes it a `ganedit run` option, a run_folder keyword and
    a manifest parameter, with no other change."""
    import ganedit.cli.run as cli_run
    import ganedit.infer.run.runner as runner
    from ganedit.infer.options import RunOptions

    @dataclass
    class Extended(RunOptions):
        sharpen: float = field(
            default=0.0, metadata={"help": "Sharpen the result (a test field).", "min": 0}
        )

    monkeypatch.setattr(runner, "RunOptions", Extended)
    monkeypatch.setattr(cli_run, "RunOptions", Extended)
    opts = {o for p in cli_run._run_params(TinyUp) for o in getattr(p, "opts", [])}
    assert "--sharpen" in opts and "--tile-overlap" in opts and "--mask" not in opts
    assert "--mask" in {o for p in cli_run._run_params(TinyInpaint) for o in p.opts}
    src = tmp_path / "in"
    write_image(src / "a.png", _img(8, 8))
    report = _fresh(TinyKeep, src, tmp_path / "out", sharpen=0.5)
    assert report.exit_code == 0
    params = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())["parameters"]
    assert params["sharpen"] == 0.5
    with pytest.raises(ValueError, match="sharpen must be >= 0"):
        _fresh(TinyKeep, src, tmp_path / "o2", sharpen=-1)
