"""Inference probes for the editor and runner tests (CPU, random init, no plugin discovery).

The shapes the contract hosts are :mod:`ganedit.testing`'s tiny families, re-exported here
under the names the tests use; this module adds only the probes they cannot be: an upscaler
with a configurable size multiple and a per-call delay (tiling, timing, kill-and-resume), a
near-identity x1 filter (exact pixel checks) and a 1 -> 1 gray filter (layouts)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from ganedit.family import IOSpec, Kind, ModelFamily, Tiling
from ganedit.testing import TinyColorize, TinyInpaint
from ganedit.testing import TinyCycle as TinyTwo
from ganedit.testing import TinyGenerate as TinyGen
from ganedit.testing.families import TinyCycleConfig as TwoConfig

#: UNTILED (instance norm): the two-generator family is one.
TinyNorm = TinyTwo

__all__ = [
    "TinyColorize",
    "TinyConfig",
    "TinyGen",
    "TinyGray",
    "TinyInpaint",
    "TinyKeep",
    "TinyNorm",
    "TinyTwo",
    "TinyUp",
    "TwoConfig",
]


@dataclass
class TinyConfig:
    scale: int = field(default=2, metadata={"help": "Upscaling factor (1 or 2 or 4)."})
    channels: int = field(default=8, metadata={"help": "Hidden channels."})
    delay: float = field(default=0.0, metadata={"help": "Seconds to sleep per call (tests)."})
    multiple: int = field(default=4, metadata={"help": "Declared size multiple."})


class TinyUp(ModelFamily):
    """Conv -> ReLU -> conv -> PixelShuffle; receptive radius 2 input pixels; size multiple
    ``config.multiple`` (4 by default)."""

    name = "tiny-up"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny upscaler for tests."

    def io(self, config):
        return IOSpec(
            scale=config.scale, size_multiple=config.multiple, tiling=Tiling.supported(radius=2)
        )

    def build(self, config):
        s = config.scale
        layers = [nn.Conv2d(3, config.channels, 3, padding=1), nn.ReLU()]
        if s > 1:
            layers += [nn.Conv2d(config.channels, 3 * s * s, 3, padding=1), nn.PixelShuffle(s)]
        else:
            layers += [nn.Conv2d(config.channels, 3, 3, padding=1)]
        net = nn.Sequential(*layers)
        net.delay = config.delay  # type: ignore[attr-defined]
        return {"generator": net}

    def predict(self, net, inputs, config):
        if getattr(net, "delay", 0):
            time.sleep(net.delay)
        return torch.sigmoid(net(inputs["image"] * 2 - 1))


class TinyKeep(ModelFamily):
    """x1, near identity: x + 0.1 * tanh(conv(x)) clamped; for exact-ish pixel tests."""

    name = "tiny-keep"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny x1 filter for tests."

    def io(self, config):
        return IOSpec(tiling=Tiling.supported(radius=1))

    def build(self, config):
        return {"generator": nn.Conv2d(3, 3, 3, padding=1)}

    def predict(self, net, inputs, config):
        x = inputs["image"]
        return (x + 0.1 * torch.tanh(net(x))).clamp(0, 1)


class TinyGray(ModelFamily):
    """1 -> 1: a gray filter (x1)."""

    name = "tiny-gray"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny gray filter for tests."

    def io(self, config):
        return IOSpec(in_channels=1, out_channels=1, tiling=Tiling.supported(radius=1))

    def build(self, config):
        return {"generator": nn.Conv2d(1, 1, 3, padding=1)}

    def predict(self, net, inputs, config):
        x = inputs["image"]
        return (x + 0.1 * torch.tanh(net(x))).clamp(0, 1)
