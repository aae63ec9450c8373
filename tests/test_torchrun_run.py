"""``torchrun --nproc_per_node=2 -m ganedit run ...``: two real processes share one folder run,
each input is processed exactly once, and rank 0 writes the merged manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from imagefiles import random_image, write_test_image
from test_cli import _save_tiny

pytestmark = pytest.mark.slow


def test_two_process_run_processes_each_file_once(plugin_path, subprocess_env, tmp_path) -> None:
    src = tmp_path / "in"
    names = [f"sub/{i}.png" if i % 3 == 0 else f"{i}.png" for i in range(9)]
    for i, rel in enumerate(names):
        write_test_image(src / rel, random_image(12, 10, seed=i))
    (src / "bad.png").write_bytes(b"")
    weights = _save_tiny("tiny-sr", tmp_path / "w" / "tiny.safetensors", channels=4)
    out = tmp_path / "out"
    env = subprocess_env(OMP_NUM_THREADS="1", GANEDIT_MERGE_TIMEOUT="120")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"]
    cmd += ["-m", "ganedit", "run", "tiny-sr", "--weights", str(weights), "--device", "cpu"]
    cmd += ["--json", str(src), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]  # one bad file -> exit 1

    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = [e["input"] for e in events if e.get("event") == "file" and e["status"] == "done"]
    assert sorted(Path(p).relative_to(src).as_posix() for p in done) == sorted(names)
    assert len(done) == len(set(done)) == len(names)  # no file twice across the two ranks

    for rel in names:
        assert (out / rel).is_file()
    merged = json.loads((out / "ganedit-run.json").read_text())
    statuses = {Path(r["input"]).relative_to(src).as_posix(): r["status"] for r in merged["files"]}
    assert statuses == {**dict.fromkeys(names, "done"), "bad.png": "failed"}
    assert (out / "ganedit-run.rank1.json").is_file()
