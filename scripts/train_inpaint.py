"""Train (or resume) the bundled ``inpaint`` weights, then export them as fp16 package data.

The recipe is sized for a small CPU (2 cores): a 32-channel, 6-block FFC generator with the
smooth pre-fill (its output is a correction to a pull-push + Laplace fill), 128 px crops of
the training photos resized so their shorter side is 384 px (the scale of the 512 px
evaluation), LaMa's generated mask mix, and a PSNR-leaning loss mix (hole L1 dominant, small
adversarial and feature-matching weights; see plugins/ganedit_inpaint/README.md). Held-out
photos (``data/photos/val``) only feed the sample grids; ``data/sr-test`` is never touched.

Run it again to resume from the newest checkpoint (the data position, masks, RNG and
optimiser state come back: the run continues exactly). ``--minutes`` stops the run cleanly
(SIGTERM: checkpoint, then exit) after that much wall time::

    .venv/bin/python scripts/train_inpaint.py --steps 3000 --minutes 30      # train / resume
    .venv/bin/python scripts/train_inpaint.py --export-only                   # weights + card

Exported to ``assets/weights/inpaint.safetensors`` (+ ``inpaint.json``), which
``ganedit.load("inpaint")`` and ``ganedit run inpaint`` use when no weights are given.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "runs" / "inpaint"
OUT = ROOT / "assets" / "weights" / "inpaint.safetensors"

RECIPE = {
    # smooth_iters: the weights were trained with 16; their card runs inference with 256
    "width": 32, "blocks": 6, "downsamplings": 3, "prefill": "smooth", "smooth_iters": 16,
    "crop_size": 128, "load_size": 384, "batch_size": 8, "d_width": 32, "d_layers": 2,
    "l1_known_weight": 2.0, "l1_hole_weight": 10.0, "fft_weight": 1.0, "adv_weight": 0.1,
    "fm_weight": 1.0, "ema_decay": 0.99, "lr": 5e-4,
}  # fmt: skip


def train_command(steps: int, resume: bool, run: Path = RUN) -> list[str]:
    """The ``ganedit train`` command line of the recipe."""
    cmd = [sys.executable, "-m", "ganedit", "train", "inpaint"]
    cmd += ["--data", str(ROOT / "data/photos/train"), "--val", str(ROOT / "data/photos/val")]
    cmd += ["--out", str(run), "--steps", str(steps), "--device", "cpu"]
    cmd += ["--checkpoint-every", "100", "--sample-every", "200", "--log-every", "10"]
    cmd += [arg for k, v in RECIPE.items() for arg in ("--set", f"{k}={v}")]
    return cmd + (["--resume"] if resume else [])


def train(steps: int, minutes: float | None, run: Path = RUN) -> int:
    """Run (or resume) training; SIGTERM after ``minutes``. Returns the exit code."""
    resume = any((run / "checkpoints").glob("step-*.safetensors"))
    proc = subprocess.Popen(train_command(steps, resume, run), cwd=ROOT)
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    while proc.poll() is None:
        if deadline is not None and time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)  # the engine checkpoints, then exits
            deadline = None
        time.sleep(5)
    return proc.returncode


def export(run: Path = RUN, out: Path = OUT) -> int:
    """``ganedit export RUN assets/weights/inpaint.safetensors --fp16``."""
    cmd = [sys.executable, "-m", "ganedit", "export", str(run), str(out), "--fp16", "--force"]
    return subprocess.call(cmd, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="total steps (resume continues)")
    ap.add_argument("--minutes", type=float, default=None, help="stop cleanly after this")
    ap.add_argument("--export-only", action="store_true", help="only export the newest run")
    ap.add_argument("--run", type=Path, default=RUN, help="run folder")
    ap.add_argument("--out", type=Path, default=OUT, help="exported weights")
    args = ap.parse_args()
    if not args.export_only:
        code = train(args.steps, args.minutes, args.run)
        print(f"train exited with {code} (1 = stopped early; run again to resume)")
    sys.exit(export(args.run, args.out))


if __name__ == "__main__":
    main()
