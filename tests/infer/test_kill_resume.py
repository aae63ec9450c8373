"""A run killed with SIGKILL leaves no partial output; resuming gives the same files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_kit import TinyUp

from ganedit.infer import run_folder
from ganedit.io import Manifest, read_image, write_image

KIT = Path(__file__).parents[1]  # tests/: tiny_kit.py

SCRIPT = """
import sys
sys.path.insert(0, {kit!r})
from tiny_kit import TinyUp
from ganedit.infer import run_folder
r = run_folder(TinyUp(), {src!r}, {out!r}, weights=False, delay={delay}, batch_size=1, jobs=1,
               progress=False, skip_existing={skip})
sys.exit(r.exit_code)
"""


def _run(src: Path, out: Path, *, delay: float, skip: bool) -> subprocess.Popen:
    code = SCRIPT.format(kit=str(KIT), src=str(src), out=str(out), delay=delay, skip=skip)
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)


def _outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.png") if not p.name.startswith("."))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    src = tmp_path / "in"
    rng = np.random.default_rng(0)
    for i in range(30):
        write_image(src / f"d{i % 3}" / f"{i:02d}.png", rng.integers(0, 256, (48, 64, 3), np.uint8))
    killed, ref = tmp_path / "killed", tmp_path / "ref"

    proc = _run(src, killed, delay=0.08, skip=False)
    deadline = time.monotonic() + 60
    while len(_outputs(killed)) < 12 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _outputs(killed)
    assert 12 <= len(partial) < 30
    for p in partial:  # every output that exists is complete
        assert read_image(p).shape == (96, 128, 3)

    # resume in this process (random init is seeded, so the weights are the same) with the
    # same config: a changed Config value (even ``delay``) makes --skip-existing redo a file
    resumed = run_folder(
        TinyUp(),
        src,
        killed,
        weights=False,
        delay=0.08,
        batch_size=1,
        skip_existing=True,
        progress=False,
    )
    assert resumed.exit_code == 0 and len(resumed.skipped) == len(partial)
    ref_report = run_folder(TinyUp(), src, ref, weights=False, batch_size=1, progress=False)
    assert ref_report.exit_code == 0

    assert not list(killed.rglob("*.ganedit-tmp"))
    done, ref_files = _outputs(killed), _outputs(ref)
    assert [p.relative_to(killed) for p in done] == [p.relative_to(ref) for p in ref_files]
    for a, b in zip(done, ref_files, strict=True):
        assert np.array_equal(read_image(a), read_image(b)), a
    man = Manifest.load(killed)
    counts = {s: sum(r["status"] == s for r in man.records) for s in ("done", "skipped")}
    assert counts["skipped"] == len(partial) and counts["done"] == 30 - len(partial)
