"""Train and evaluate DCGAN option sets on Fashion-MNIST, one row per set (issue: DCGAN coverage).

Each named set is a ``ganedit train dcgan`` run (32x32 gray, the bundled weights' shape) into
``runs/dcgan-opt/<name>``, resumable (run the script again to continue), then exported fp16 and
evaluated with ``ganedit eval dcgan --n 10000`` (Fréchet distance, precision/recall in the
project classifier's features, class shares under it and under the independent 64 px one,
nearest-neighbour distance to the training set). Rows go to ``runs/dcgan-opt/results.jsonl``::

    .venv/bin/python scripts/dcgan_options.py --list
    .venv/bin/python scripts/dcgan_options.py long-ema [--threads 1] [--minutes 30]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "dcgan-opt"
BASE = [
    "--data", "data/fashion-mnist", "--image-size", "32", "--channels", "1",
    "--batch-size", "64", "--seed", "0", "--device", "cpu",
    "--checkpoint-every", "1000", "--sample-every", "2000", "--log-every", "100",
]  # fmt: skip

#: name -> (steps, extra ``ganedit train`` arguments). ``bundled`` is the recipe of the weights
#: shipped before this comparison (3000 steps, constant rate, EMA 0.995).
SETS: dict[str, tuple[int, list[str]]] = {
    "bundled": (3000, ["--ngf", "32", "--ndf", "32", "--ema-decay", "0.995"]),
    "long-ema": (
        15000,
        ["--ngf", "32", "--ndf", "32", "--ema-decay", "0.999",
         "--lr-schedule", "linear", "--hold-steps", "7500"],
    ),
    "long-ttur-hinge": (
        15000,
        ["--ngf", "32", "--ndf", "32", "--ema-decay", "0.999", "--loss", "hinge",
         "--lr", "1e-4", "--set", "d_lr=4e-4", "--lr-schedule", "linear", "--hold-steps", "7500"],
    ),
    "wide-long": (
        15000,
        ["--ngf", "64", "--ndf", "64", "--ema-decay", "0.999",
         "--lr-schedule", "linear", "--hold-steps", "7500"],
    ),
}  # fmt: skip


def train(name: str, threads: int | None, minutes: float | None) -> int:
    steps, extra = SETS[name]
    run = OUT / name
    cmd = [sys.executable, "-m", "ganedit", "train", "dcgan", "--out", str(run)]
    cmd += ["--steps", str(steps), *BASE, *extra]
    if any((run / "checkpoints").glob("step-*.safetensors")):
        cmd.append("--resume")
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    while proc.poll() is None:
        if deadline is not None and time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)  # checkpoint, then exit
            deadline = None
        time.sleep(5)
    return proc.returncode


def evaluate(name: str, threads: int | None) -> dict:
    run = OUT / name
    weights = run / f"{name}.safetensors"
    subprocess.run(
        [sys.executable, "-m", "ganedit", "export", str(run), str(weights), "--fp16", "--force"],
        cwd=ROOT,
        check=True,
    )
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    res = subprocess.run(
        [sys.executable, "-m", "ganedit", "eval", "dcgan", "--weights", str(weights),
         "--n", "10000", "--device", "cpu", "--json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    summary = json.loads(res.stdout)["summary"]
    steps, extra = SETS[name]
    row = {"name": name, "steps": steps, "args": extra, **summary}
    with open(OUT / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", choices=sorted(SETS))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the runs")
    ap.add_argument("--minutes", type=float, default=None, help="stop training cleanly after")
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args()
    if args.list or not args.name:
        for k, (steps, extra) in SETS.items():
            print(f"{k:<16} {steps:>6} steps  {' '.join(extra)}")
        return
    if not args.eval_only:
        code = train(args.name, args.threads, args.minutes)
        if code != 0:
            sys.exit(f"training stopped with {code}; run again to resume")
    row = evaluate(args.name, args.threads)
    keys = ("frechet_distance", "precision", "recall", "min_class_share", "min_class_share_c64")
    print({k: row.get(k) for k in ("name", *keys, "nn_pixel_l2")})


if __name__ == "__main__":
    main()
