"""Train (or resume) the bundled ``inpaint`` weights, then export them as fp16 package data.

The recipe (issue 21, "inpainting that paints") is sized for a small CPU (2 cores): a
16-channel (128 at the FFC blocks), 6-block FFC generator without norm layers, with ReZero
gates on every block, whose correction to the smooth pre-fill (64 sweeps, in training and in
inference) starts small (head at 0.03 x kaiming) behind a 200-step warm-up, LaMa's transposed
convolutions in the decoder (they paint a visible checkerboard, which the texture loss rewards;
with ``upsample=resize``, nearest x2 + convolution, the correction shrank to ~3e-4 and stayed
shut: ``runs/inpaint-paints-4``, 1929 steps, head 0.03; ``runs/inpaint-paints-5``, 1739 steps,
head 0.3; see the plugin README); 128 px crops of
``data/inpaint-train`` (every offline photo source, two scales); LaMa's mask mix; in the
hole no per-pixel loss, only the low-pass L1 (30, 8 px cells), the texture-energy loss (1000,
the offline perceptual stand-in), the adversarial loss (10) and discriminator feature
matching (10; LaMa's 100 and a scalar output gate closed the correction again in a first
run, ``runs/inpaint-paints``: see the plugin README), LaMa's R1 (0.001) and rates (G 1e-3,
D 1e-4). ``data/photos/val`` feeds the sample grids and the monitor (``val_*`` rows of
metrics.jsonl); ``data/inpaint-test`` is never touched.

Run it again to resume from the newest checkpoint (the data position, masks, RNG and
optimiser state come back: the run continues exactly). ``--minutes`` stops the run cleanly
(SIGINT: checkpoint, then exit) after that much wall time::

    .venv/bin/python scripts/train_inpaint.py --steps 6000 --minutes 30      # train / resume
    .venv/bin/python scripts/train_inpaint.py --export-only                   # RUN/export/
    .venv/bin/python scripts/train_inpaint.py --export-only --bundle          # the bundle

Each segment (steps, wall and CPU seconds, threads) is appended to ``RUN/segments.jsonl``
for the card. The bundled ``plugins/ganedit_inpaint/weights/inpaint.safetensors`` (+
``inpaint.json``, which ``ganedit.load("inpaint")`` and ``ganedit run inpaint`` use when no
weights are given) is written only with ``--bundle``.
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
RUN = ROOT / "runs" / "inpaint-paints-3"
OUT = ROOT / "plugins" / "ganedit_inpaint" / "weights" / "inpaint.safetensors"

RECIPE = {
    "width": 16, "blocks": 6, "downsamplings": 3, "norm": "none", "gate": True,
    "output_gate": False, "head_scale": 0.03, "upsample": "transposed",
    "prefill": "smooth", "smooth_iters": 64, "crop_size": 128, "load_size": 0,
    "batch_size": 4, "d_width": 32, "d_layers": 2, "l1_known_weight": 0.0,
    "l1_hole_weight": 0.0, "lowpass_weight": 30.0, "lowpass_factor": 8,
    "texture_weight": 1000.0, "fft_weight": 0.0, "adv_weight": 10.0, "fm_weight": 10.0,
    "ema_decay": 0.995, "lr": 1e-3, "d_lr": 1e-4, "r1_gamma": 0.001,
    "monitor_data": str(ROOT / "data/photos/val"), "monitor_every": 50,
}  # fmt: skip


def train_command(steps: int, resume: bool, run: Path = RUN) -> list[str]:
    """The ``ganedit train`` command line of the recipe."""
    cmd = [sys.executable, "-m", "ganedit", "train", "inpaint"]
    cmd += ["--data", str(ROOT / "data/inpaint-train"), "--val", str(ROOT / "data/photos/val")]
    cmd += ["--out", str(run), "--steps", str(steps), "--device", "cpu"]
    cmd += ["--checkpoint-every", "50", "--keep-last", "12", "--sample-every", "100"]
    cmd += ["--log-every", "10", "--warmup-steps", "200"]
    cmd += [arg for k, v in RECIPE.items() for arg in ("--set", f"{k}={v}")]
    return cmd + (["--resume"] if resume else [])


def newest_step(run: Path) -> int:
    """The step of the newest checkpoint in ``run`` (0 when there is none)."""
    found = sorted((run / "checkpoints").glob("step-*.safetensors"))
    return int(found[-1].stem.split("-")[1]) if found else 0


def train(steps: int, minutes: float | None, run: Path = RUN) -> int:
    """Run (or resume) training; SIGINT after ``minutes``. Appends the segment (steps, wall
    and CPU seconds, threads) to ``<run>/segments.jsonl``. Returns the exit code."""
    first = newest_step(run)
    started, wall = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    proc = subprocess.Popen(train_command(steps, first > 0, run), cwd=ROOT)
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)  # the engine checkpoints, then exits
            deadline = None
        time.sleep(5)
    code = os.waitstatus_to_exitcode(status)
    segment = {
        "steps": f"{first}-{newest_step(run)}", "started": started,
        "wall_seconds": round(time.monotonic() - wall),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime),
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or "torch default",
        "exit_code": code,
    }  # fmt: skip
    with open(run / "segments.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(segment) + "\n")
    return code


def export(run: Path = RUN, out: Path = OUT) -> int:
    """``ganedit export RUN OUT --fp16`` (the bundled file only with ``--bundle``: replace it
    only after ``ganedit eval inpaint`` shows the new weights better)."""
    cmd = [sys.executable, "-m", "ganedit", "export", str(run), str(out), "--fp16", "--force"]
    return subprocess.call(cmd, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6000, help="total steps (resume continues)")
    ap.add_argument("--minutes", type=float, default=None, help="stop cleanly after this")
    ap.add_argument("--export-only", action="store_true", help="only export the newest run")
    ap.add_argument("--run", type=Path, default=RUN, help="run folder")
    ap.add_argument("--out", type=Path, default=None, help="exported weights [RUN/export]")
    ap.add_argument("--bundle", action="store_true", help=f"export to {OUT.relative_to(ROOT)}")
    args = ap.parse_args()
    if not args.export_only:
        code = train(args.steps, args.minutes, args.run)
        print(f"train exited with {code} (1 = stopped early; run again to resume)")
    out = OUT if args.bundle else args.out or args.run / "export" / "inpaint.safetensors"
    sys.exit(export(args.run, out))


if __name__ == "__main__":
    main()
