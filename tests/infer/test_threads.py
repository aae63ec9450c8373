"""The thread layout of a folder run (:mod:`ganedit.infer.threads`): the option's spellings,
the default, and that a pooled run writes the same pixels as a one-worker run, in order,
with bad files failed and tiled images run alone."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import ganedit
from ganedit.infer import threads as th
from ganedit.infer.options import check_threads
from ganedit.testing import TinyInpaint, TinyUpscale


@pytest.mark.parametrize(
    ("given", "want"),
    [("auto", "auto"), (" AUTO ", "auto"), (None, "auto"), ("3", "1x3"), ("2x1", "2x1"),
     ("2 x 4", "2x4")],
)  # fmt: skip
def test_threads_option_spellings(given: object, want: str) -> None:
    assert check_threads(given) == want


@pytest.mark.parametrize("bad", ["0", "0x2", "2x0", "x2", "two", "-1", "1.5"])
def test_threads_option_refuses_bad_values(bad: str) -> None:
    with pytest.raises(ValueError, match="threads must be auto, T or WxT"):
        check_threads(bad)


def test_auto_is_one_worker_on_every_core_and_a_request_is_kept(
    formats_cache: Path, fp32_cpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(A CPU without half instructions: no precision probe, so nothing is measured.)"""
    ed = ganedit.load(TinyUpscale, weights=False, device="cpu", memory_format="contiguous")
    got = th.choose_threads(ed, "2x3")
    assert (got.workers, got.threads, got.source) == (2, 3, "requested")
    monkeypatch.setattr(th, "cores", lambda: 3)
    assert th.choose_threads(ed).describe() == "1x3 (default)"
    assert not formats_cache.exists()  # nothing measured


def test_auto_run_records_the_default_layout(
    formats_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(th, "cores", lambda: 2)
    src = tmp_path / "in"
    _photos(src, 3, (40, 28))
    before = torch.get_num_threads()
    report = ganedit.run_folder(
        TinyUpscale, src, tmp_path / "out", weights=False, device="cpu", progress=False
    )
    assert len(report.done) == 3 and torch.get_num_threads() == before
    doc = json.loads((tmp_path / "out" / "ganedit-run.json").read_text())
    assert doc["parameters"]["threads"] == "1x2 (default)"


def _photos(folder: Path, n: int, size: tuple[int, int] = (24, 20)) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        img = (rng.random((*size, 3)) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i:02d}.png"), img)


def _read_all(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))}


def test_pooled_run_writes_the_one_worker_pixels_and_fails_bad_files(
    formats_cache: Path, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    _photos(src, 7)
    (src / "broken.png").write_bytes(b"not a png")
    common = {"weights": False, "device": "cpu", "progress": False, "memory_format": "contiguous"}
    one = ganedit.run_folder(TinyUpscale, src, tmp_path / "one", threads="1x1", **common)
    events: list[dict] = []
    two = ganedit.run_folder(
        TinyUpscale, src, tmp_path / "two", threads="2x1", on_event=events.append, **common
    )
    assert len(one.done) == len(two.done) == 7
    assert [p.name for p, _ in two.failed] == ["broken.png"]
    a, b = _read_all(tmp_path / "one"), _read_all(tmp_path / "two")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    files = [e["input"] for e in events if e["event"] == "file" and e["status"] == "done"]
    assert files == sorted(files)  # finished in input order
    doc = json.loads((tmp_path / "two" / "ganedit-run.json").read_text())
    assert doc["parameters"]["threads"] == "2x1 (requested)"


def test_pooled_run_runs_tiled_images_alone_on_every_thread(
    formats_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    _photos(src, 3, (80, 72))
    seen: list[int] = []
    edit = ganedit.infer.editor.Editor.edit_pixels

    def spy(self, batch, mask=None):  # type: ignore[no-untyped-def]
        seen.append(torch.get_num_threads())
        return edit(self, batch, mask)

    monkeypatch.setattr(ganedit.infer.editor.Editor, "edit_pixels", spy)
    common = {"weights": False, "device": "cpu", "progress": False, "memory_format": "contiguous"}
    tiled = ganedit.run_folder(TinyUpscale, src, tmp_path / "t", threads="2x1", tile=32,
                                tile_overlap=8, **common)  # fmt: skip
    assert len(tiled.done) == 3 and seen == [2, 2, 2]
    seen.clear()
    one = ganedit.run_folder(TinyUpscale, src, tmp_path / "o", threads="1", tile=32,
                             tile_overlap=8, **common)  # fmt: skip
    assert len(one.done) == 3 and seen == [1, 1, 1]  # a requested single thread is kept
    seen.clear()
    whole = ganedit.run_folder(TinyUpscale, src, tmp_path / "w", threads="2x1", tile=0, **common)
    assert len(whole.done) == 3 and seen == [1]  # one batch of three, in the pool
    a, b = _read_all(tmp_path / "t"), _read_all(tmp_path / "w")
    assert all(np.abs(a[k].astype(int) - b[k].astype(int)).max() <= 1 for k in a)


def test_mask_family_runs_pooled(formats_cache: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rgba = np.full((16, 16, 4), 120, np.uint8)
    rgba[4:8, 4:8, 3] = 0  # the transparent pixels are the hole
    for i in range(4):
        cv2.imwrite(str(src / f"{i}.png"), rgba)
    report = ganedit.run_folder(
        TinyInpaint, src, tmp_path / "out", weights=False, device="cpu", progress=False,
        threads="2x1",
    )  # fmt: skip
    assert len(report.done) == 4 and not report.failed
    out = cv2.imread(str(tmp_path / "out" / "0.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (16, 16, 3)  # filled, and opaque


def test_pending_host_copies_keep_order_and_pixels(
    formats_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU path's one-batch-behind copy queue, exercised on the CPU."""
    from ganedit.infer.run import pipeline, transfer

    class SlowCopy(transfer.HostCopy):
        def ready(self) -> bool:  # as a copy still running on the device would answer
            return False

    monkeypatch.setattr(pipeline, "COPIES_IN_FLIGHT", {"cpu": 1})
    monkeypatch.setattr(pipeline, "HostCopy", SlowCopy)
    src = tmp_path / "in"
    _photos(src, 5)
    common = {"weights": False, "device": "cpu", "progress": False, "memory_format": "contiguous"}
    events: list[dict] = []
    late = ganedit.run_folder(
        TinyUpscale, src, tmp_path / "late", threads="1x1", on_event=events.append, **common
    )
    monkeypatch.setattr(pipeline, "COPIES_IN_FLIGHT", {})
    now = ganedit.run_folder(TinyUpscale, src, tmp_path / "now", threads="1x1", **common)
    assert len(late.done) == len(now.done) == 5
    a, b = _read_all(tmp_path / "late"), _read_all(tmp_path / "now")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    files = [e["input"] for e in events if e["event"] == "file"]
    assert files == sorted(files)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_host_copy_from_the_gpu_is_pinned_and_exact() -> None:
    from ganedit.infer.run.transfer import HostCopy

    x = torch.randint(0, 255, (2, 8, 8, 3), dtype=torch.uint8)
    copy = HostCopy(x.cuda())
    assert copy._host.is_pinned()
    assert np.array_equal(copy.numpy(), x.numpy()) and copy.ready()
