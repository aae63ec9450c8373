"""Tiny model families for the inference tests (CPU, random init, no plugin discovery)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from ganedit.family import Kind, ModelFamily


@dataclass
class TinyConfig:
    scale: int = field(default=2, metadata={"help": "Upscaling factor (1 or 2 or 4)."})
    channels: int = field(default=8, metadata={"help": "Hidden channels."})
    delay: float = field(default=0.0, metadata={"help": "Seconds to sleep per call (tests)."})


class TinyUp(ModelFamily):
    """Conv -> ReLU -> conv -> PixelShuffle; receptive radius 2 input pixels; size multiple 4."""

    name = "tiny-up"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny upscaler for tests."
    size_multiple = 4

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

    def predict(self, generator, x, mask=None):
        if getattr(generator, "delay", 0):
            time.sleep(generator.delay)
        return torch.sigmoid(generator(x * 2 - 1))


class TinyKeep(ModelFamily):
    """x1, near identity: x + 0.1 * tanh(conv(x)) clamped; for exact-ish pixel tests."""

    name = "tiny-keep"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny x1 filter for tests."

    def scale_for(self, config):
        return 1

    def build(self, config):
        return {"generator": nn.Conv2d(3, 3, 3, padding=1)}

    def predict(self, generator, x, mask=None):
        return (x + 0.1 * torch.tanh(generator(x))).clamp(0, 1)


class TinyInpaint(ModelFamily):
    """IMAGE_MASK: fills masked pixels with the conv output, keeps the rest."""

    name = "tiny-inpaint"
    kind = Kind.IMAGE_MASK
    Config = TinyConfig
    summary = "Tiny inpainter for tests."

    def scale_for(self, config):
        return 1

    def build(self, config):
        return {"generator": nn.Conv2d(4, 3, 3, padding=1)}

    def predict(self, generator, x, mask=None):
        assert mask is not None
        fill = torch.sigmoid(generator(torch.cat([x * (1 - mask), mask], 1)))
        return x * (1 - mask) + fill * mask


@dataclass
class GenConfig:
    image_size: int = field(default=8, metadata={"help": "Output size."})
    z_dim: int = field(default=4, metadata={"help": "Latent size."})


class TinyGen(ModelFamily):
    name = "tiny-gen"
    kind = Kind.GENERATE
    Config = GenConfig
    summary = "Tiny generator for tests."

    def build(self, config):
        return {"generator": nn.Linear(config.z_dim, 3 * config.image_size**2)}

    def latent(self, n, config, generator):
        return torch.randn(n, config.z_dim, generator=generator)

    def predict(self, generator, x, mask=None):
        s = int((generator.out_features // 3) ** 0.5)
        return torch.sigmoid(generator(x)).view(-1, 3, s, s)
