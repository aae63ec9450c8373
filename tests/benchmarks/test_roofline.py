"""The benchmarks' roofline arithmetic: MACs counted from the network, the line's figures."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _roofline import macs_per_pixel, peak_gflops, roofline_line  # noqa: E402


def test_macs_are_counted_from_the_network() -> None:
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert macs_per_pixel(conv) == 3 * 8 * 9
    shuffle_up = torch.nn.Sequential(
        torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.PixelShuffle(2),
        torch.nn.Conv2d(3, 3, 3, padding=1),
    )  # fmt: skip
    # the second conv runs on 4x the pixels: its MACs count 4 times per input pixel
    assert macs_per_pixel(shuffle_up) == 3 * 12 * 9 + 4 * 3 * 3 * 9


def test_peak_is_a_plausible_rate_and_the_line_reports_the_share() -> None:
    peak = peak_gflops("cpu", n=256, repeats=2)
    assert 0.1 < peak < 1e6
    line = roofline_line(1000.0, 1e6, 1.0, 20.0)  # 2 GFLOP in 1 s on a 20 GFLOP/s machine
    assert "2.0 GFLOP in 1.00 s" in line and "bound 0.10 s, 10% of the compute bound" in line


def test_peak_and_line_in_the_precision_the_model_ran_in() -> None:
    assert 0.01 < peak_gflops("cpu", n=128, repeats=1, precision="bf16") < 1e6
    line = roofline_line(1000.0, 1e6, 1.0, 20.0, "bf16")
    assert "machine peak (bf16 GEMM) 20.0 GFLOP/s" in line
