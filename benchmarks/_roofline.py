"""The compute bound an inference benchmark is judged against (shared by the bench_*.py).

* :func:`macs_per_pixel` counts a network's multiply-accumulates per input pixel from the
  network itself (``torch.utils.flop_counter``: one forward pass on a probe input), not by hand.
* :func:`peak_gflops` measures the machine: a large matrix multiply in this process, on the
  same device, with the same thread count and in the precision the model ran in (a bf16 GEMM
  for a bf16 run: on a CPU with AMX that peak is several times the fp32 one, so a bf16 model
  time is judged against the bf16 bound, not flattered by the fp32 one).
* :func:`roofline_line` turns a measured model time into "y% of the compute bound".
"""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def macs_per_pixel(net: torch.nn.Module, channels: int = 3, side: int = 64) -> float:
    """Multiply-accumulates per *input* pixel of one forward pass of ``net`` on a
    ``(1, channels, side, side)`` probe (FLOPs / 2 as counted by torch)."""
    device = next(net.parameters()).device
    x = torch.rand(1, channels, side, side, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(x)
    return counter.get_total_flops() / 2 / (side * side)


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def peak_gflops(
    device: torch.device | str = "cpu", n: int = 2048, repeats: int = 5, precision: str = "fp32"
) -> float:
    """The best GEMM rate of ``repeats`` ``n x n @ n x n`` products in ``precision``
    (``"fp32"``, ``"bf16"``, ``"fp16"``), in GFLOP/s."""
    device = torch.device(device)
    a = torch.rand(n, n, device=device).to(DTYPES[precision])
    b = torch.rand(n, n, device=device).to(DTYPES[precision])
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def roofline_line(
    macs_px: float, pixels: float, seconds: float, peak: float, precision: str = "fp32"
) -> str:
    """One line: the work, the time the bound allows, and the share of it reached.

    Args:
        macs_px: multiply-accumulates per input pixel (:func:`macs_per_pixel`).
        pixels: input pixels processed in ``seconds``.
        seconds: measured model time.
        peak: the machine's GFLOP/s in ``precision`` (:func:`peak_gflops`).
        precision: the precision the model ran in (and ``peak`` was measured in).
    """
    gflop = 2 * macs_px * pixels / 1e9
    bound = gflop / peak
    return (
        f"roofline: {macs_px / 1e3:.1f} kMAC per input pixel, {gflop:.1f} GFLOP in {seconds:.2f} s "
        f"= {gflop / seconds:.1f} GFLOP/s; machine peak ({precision} GEMM) {peak:.1f} GFLOP/s -> "
        f"bound {bound:.2f} s, {100 * bound / seconds:.0f}% of the compute bound"
    )
