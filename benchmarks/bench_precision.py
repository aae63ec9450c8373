"""Inference precision on the CPU: srgan x4 on one input in each form a user could run.

Times the bundled ``srgan-x4`` generator on one ``--size`` px input (best of ``--repeats``
after a warm-up, the forms alternating) as

* fp32 NCHW (the trained layout: what a user's loop runs; the baseline),
* fp32 channels_last,
* bf16 autocast, channels_last,
* bf16 weights, channels_last,

and prints each one's time, its ratio to the baseline, how far its pixels are from the fp32
output (levels, 0-255) and what ``ganedit.load("srgan")`` chose by measurement on this
machine (:mod:`ganedit.infer.autotune`). On a CPU without bf16 instructions the bf16 forms
are emulated (and ganedit does not offer them to its measurement)::

    python benchmarks/bench_precision.py [--size 256] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from _machine import machine
from _plain import plain_generator
from _roofline import macs_per_pixel, peak_gflops

import ganedit


def _best(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _forms(editor, size: int):  # type: ignore[no-untyped-def]
    """name -> (callable, output) for the four forms."""
    nchw = plain_generator(editor)
    cl = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    bf = copy.deepcopy(cl).to(torch.bfloat16)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    xc = x.contiguous(memory_format=torch.channels_last)

    def run(net, inp, autocast: bool = False, cast: bool = False):  # type: ignore[no-untyped-def]
        def call() -> torch.Tensor:
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
                y = net(inp.to(torch.bfloat16) if cast else inp)
            return y.float().clamp(0, 1)

        return call

    return {
        "fp32 NCHW": run(nchw, x),
        "fp32 channels_last": run(cl, xc),
        "bf16 autocast, channels_last": run(cl, xc, autocast=True),
        "bf16 weights, channels_last": run(bf, xc, cast=True),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    editor = ganedit.load("srgan", device="cpu")
    forms = _forms(editor, args.size)
    outputs = {name: fn() for name, fn in forms.items()}
    seconds = {name: float("inf") for name in forms}
    for _ in range(args.repeats):  # alternate, so a shared machine's load hits all alike
        for name, fn in forms.items():
            seconds[name] = min(seconds[name], _best(fn, 1))
    print(machine())
    print(f"task: bundled srgan-x4 generator, one {args.size}x{args.size} input, best of "
          f"{args.repeats}")  # fmt: skip
    base, ref = seconds["fp32 NCHW"], outputs["fp32 NCHW"] * 255
    print(f"{'form':32s} {'seconds':>8s} {'vs fp32 NCHW':>13s}  levels from fp32 (mean / max)")
    for name, s in seconds.items():
        d = (outputs[name] * 255 - ref).round().abs()
        print(
            f"{name:32s} {s:8.3f} {base / s:12.2f}x  {d.mean().item():.2f} / {d.max().item():.0f}"
        )
    macs = macs_per_pixel(plain_generator(editor)) * args.size**2
    for prec in ("fp32", "bf16"):
        print(f"{prec} GEMM peak {peak_gflops('cpu', precision=prec):.1f} GFLOP/s "
              f"(the model is {2 * macs / 1e9:.1f} GFLOP per input)")  # fmt: skip
    print(f"ganedit.load('srgan') chose: precision {editor.precision.describe()}; "
          f"memory {editor.memory.describe()}")  # fmt: skip


if __name__ == "__main__":
    main()
