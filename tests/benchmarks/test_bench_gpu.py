"""The GPU benchmark's code path, run on the CPU at toy sizes (its figures need a GPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_without_a_gpu_it_says_so_and_measures_nothing() -> None:
    import torch

    if torch.cuda.is_available():
        return
    assert "no CUDA device: nothing to measure" in _run()


def test_the_same_path_runs_on_the_cpu() -> None:
    out = _run(
        "--device", "cpu", "--n", "2", "--size", "32", "--repeats", "1", "--steps", "2",
        "--dcgan-size", "32", "--dcgan-width", "8", "--dcgan-batch", "4",
    )  # fmt: skip
    assert "srgan x4 32x32 -> 128x128, PNG:" in out and "JPG:" in out
    assert "DCGAN 32x32x3 ngf=ndf=8 batch 4, precision auto, engine training:" in out
