"""Under torchrun (WORLD_SIZE > 1) each rank takes items[rank::world]; rank 0 merges manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tiny_kit import TinyKeep

from ganedit.infer import load, run_folder
from ganedit.io import Manifest, write_image


def test_two_ranks_process_each_file_once(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "in"
    rng = np.random.default_rng(1)
    for i in range(7):
        write_image(src / f"{i}.png", rng.integers(0, 256, (8, 8, 3), np.uint8))
    (src / "bad.png").write_bytes(b"")
    out = tmp_path / "out"
    ed = load(TinyKeep(), weights=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("GANEDIT_MERGE_TIMEOUT", "5")
    # the two ranks run one after the other in this process: a launch is simulated (torchrun's
    # variable set, no process group joined); tests/test_torchrun_run.py runs real ranks
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "simulated")
    monkeypatch.setattr("ganedit.infer.run.runner.join_group", lambda timeout: False)
    reports = {}
    for rank in (1, 0):  # rank 1 first, so rank 0 finds its finished part when merging
        monkeypatch.setenv("RANK", str(rank))
        reports[rank] = run_folder(ed, src, out, progress=False)
    done = [p.name for r in reports.values() for p in r.done]
    failed = [p.name for r in reports.values() for p, _ in r.failed]
    assert sorted(done) == sorted(f"{i}.png" for i in range(7)) and len(set(done)) == 7
    assert failed == ["bad.png"]
    assert reports[0].manifest_path == out / "ganedit-run.json"
    merged = Manifest.load(out)
    assert len(merged.records) == 8
    assert {Path(r["input"]).name for r in merged.records} == {
        *(f"{i}.png" for i in range(7)),
        "bad.png",
    }
    assert (out / "ganedit-run.rank1.json").is_file()


def test_under_torchrun_only_the_local_executor(tmp_path: Path, monkeypatch) -> None:
    """Each rank is a driver of its share; handing the share to another executor is refused
    before anything is written."""
    import pytest

    src = tmp_path / "in"
    write_image(src / "a.png", np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "simulated")
    from ganedit.infer.run import executors

    other = type("Other", (executors.LocalExecutor,), {"name": "other"})
    monkeypatch.setitem(executors.BUILTIN, "other", other)
    with pytest.raises(ValueError, match="each rank runs its share locally; not other"):
        run_folder(load(TinyKeep(), weights=False), src, tmp_path / "out", executor="other")
    assert not (tmp_path / "out").exists()
