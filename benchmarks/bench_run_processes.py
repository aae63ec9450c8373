"""``ganedit run srgan`` as a whole process vs the naive one-image-at-a-time script, start-up included.

The issue-20 bar: 12 crops of 256 px, at least 3.0x on an AMX machine (bf16 chosen by
measurement), no slower than before on a CPU without bf16. The issue-14 bar: on a folder of 256x256 photo crops, x4 with the bundled weights on the CPU,
``ganedit run srgan IN OUT --device cpu`` must take at most a third of the time of the loop a
Real-ESRGAN user runs (one image at a time, NCHW fp32 eager, ``cv2`` read and write), each
started as its own Python process, with the same pixels within quantisation.

* baseline process: ``python -c`` importing torch and OpenCV, building the generator from the
  same safetensors file, then for each file ``cv2.imread`` -> float NCHW -> forward -> uint8 ->
  ``cv2.imwrite`` (PNG);
* ganedit process: ``ganedit run srgan IN OUT --device cpu`` (the memory format it measured
  earlier on this machine is recalled from ``~/.cache/ganedit``; ``--cold`` clears that cache
  first so the measurement's cost is included).

The two alternate ``--repeats`` times; the best of each is reported, with the ratio, the
largest pixel difference and a roofline line for the ganedit model time (the model time is
the process time minus the start-up measured by ``ganedit run`` on an empty folder)::

    python benchmarks/bench_run_processes.py [--n 8] [--size 256] [--repeats 2] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from _machine import machine
from _plain import plain_generator
from _roofline import macs_per_pixel, peak_gflops, roofline_line
from bench_upscale_folder import make_inputs

import ganedit
from ganedit.weights import resolve_resource

NAIVE = r"""
import sys, glob, os, cv2, numpy as np, torch
import ganedit
from ganedit.weights import load_weights
src, dst, weights = sys.argv[1:4]
from ganedit.plugins import get_family
family = get_family("srgan")
state, card = load_weights(weights)
from ganedit.config import config_from_dict
cfg = config_from_dict(family.Config, card["config"])
net = family.build_generator("generator", cfg)
prefix = "generator."
net.load_state_dict({k[len(prefix):] if k.startswith(prefix) else k: v.float() for k, v in state.items()})
net.eval()
os.makedirs(dst, exist_ok=True)
for path in sorted(glob.glob(os.path.join(src, "*.png"))):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    x = torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = net(x).clamp(0, 1)
    img = (y[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    cv2.imwrite(os.path.join(dst, os.path.basename(path)), np.ascontiguousarray(img[:, :, ::-1]))
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def ganedit_cmd(src: Path, dst: Path) -> list[str]:
    exe = Path(sys.executable).with_name("ganedit")
    return [str(exe), "run", "srgan", str(src), str(dst), "--device", "cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="clear the memory-format cache first")
    args = ap.parse_args()
    weights = resolve_resource("ganedit_srgan:weights/srgan-x4.safetensors")
    with tempfile.TemporaryDirectory(prefix="ganedit-proc-") as tmp:
        t = Path(tmp)
        make_inputs(t / "in", args.n, args.size)
        (t / "empty").mkdir()
        cache = Path(os.environ.get("GANEDIT_CACHE_DIR") or Path.home() / ".cache/ganedit")
        base, ours, startup = [], [], []
        for r in range(args.repeats):
            base.append(
                timed([sys.executable, "-c", NAIVE, str(t / "in"), str(t / f"b{r}"), str(weights)])
            )
            if args.cold:
                shutil.rmtree(cache, ignore_errors=True)
            ours.append(timed(ganedit_cmd(t / "in", t / f"o{r}")))
            startup.append(timed(ganedit_cmd(t / "empty", t / f"e{r}")))
        manifest = json.loads((t / "o0" / "ganedit-run.json").read_text())["parameters"]
        a = cv2.imread(str(t / "b0" / "img000.png")).astype(int)
        b = cv2.imread(str(t / "o0" / "img000.png")).astype(int)
        diff = int(np.abs(a - b).max())
    print(machine())
    print(
        f"task: {args.n} PNG crops {args.size}x{args.size} -> x4, bundled srgan-x4, whole processes"
    )
    print(
        f"naive process (NCHW fp32, one at a time): {min(base):.2f} s  (runs {', '.join(f'{x:.2f}' for x in base)})"
    )
    print(
        f"ganedit run srgan process:               {min(ours):.2f} s  (runs {', '.join(f'{x:.2f}' for x in ours)}){' cold cache' if args.cold else ''}"
    )
    print(f"ganedit start-up (empty folder):         {min(startup):.2f} s")
    print(f"ratio naive / ganedit: {min(base) / min(ours):.2f}x   (max pixel difference {diff})")
    precision = manifest["precision"]
    print(f"ganedit chose precision {manifest.get('precision_choice', precision)}")
    print(f"ganedit chose memory format {manifest['memory']}")
    editor = ganedit.load("srgan", device="cpu", memory_format="contiguous")
    macs = macs_per_pixel(plain_generator(editor))  # the model's work, as trained
    model_s = max(1e-9, min(ours) - min(startup))
    print(f"ganedit model time (process - start-up) {model_s:.2f} s; " + roofline_line(
        macs, args.n * args.size**2, model_s, peak_gflops("cpu", precision=precision), precision))  # fmt: skip
    print(
        f"(the inference form ganedit runs does {macs_per_pixel(editor.generator) / 1e3:.1f} kMAC "
        "per input pixel; the bound above counts the trained network's)"
    )
    print(f"threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
