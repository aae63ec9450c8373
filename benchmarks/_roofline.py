"""The compute bound an inference benchmark is judged against (shared by the bench_*.py).

* :func:`macs_per_pixel` counts a network's multiply-accumulates per input pixel from the
  network itself (``torch.utils.flop_counter``: one forward pass on a probe input), not by hand.
* :func:`peak_gflops` measures the machine: a large fp32 matrix multiply in this process, on the
  same device and with the same thread count as the benchmark.
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


def peak_gflops(device: torch.device | str = "cpu", n: int = 2048, repeats: int = 5) -> float:
    """The best fp32 GEMM rate of ``repeats`` ``n x n @ n x n`` products, in GFLOP/s."""
    device = torch.device(device)
    a = torch.rand(n, n, device=device)
    b = torch.rand(n, n, device=device)
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


def roofline_line(macs_px: float, pixels: float, seconds: float, peak: float) -> str:
    """One line: the work, the time the bound allows, and the share of it reached.

    Args:
        macs_px: multiply-accumulates per input pixel (:func:`macs_per_pixel`).
        pixels: input pixels processed in ``seconds``.
        seconds: measured model time.
        peak: the machine's fp32 GFLOP/s (:func:`peak_gflops`).
    """
    gflop = 2 * macs_px * pixels / 1e9
    bound = gflop / peak
    return (
        f"roofline: {macs_px / 1e3:.1f} kMAC per input pixel, {gflop:.1f} GFLOP in {seconds:.2f} s "
        f"= {gflop / seconds:.1f} GFLOP/s; machine peak (fp32 GEMM) {peak:.1f} GFLOP/s -> "
        f"bound {bound:.2f} s, {100 * bound / seconds:.0f}% of the compute bound"
    )
