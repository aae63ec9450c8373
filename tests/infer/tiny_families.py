"""Tiny model families on the v2 contract for the inference tests (CPU, random init, no plugin
discovery): one of each shape the editor and the runner must handle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from ganedit.family import IOSpec, Kind, ModelFamily, Tiling


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


class TinyInpaint(ModelFamily):
    """IMAGE_MASK: fills masked pixels with the conv output, keeps the rest."""

    name = "tiny-inpaint"
    kind = Kind.IMAGE_MASK
    Config = TinyConfig
    summary = "Tiny inpainter for tests."

    def io(self, config):
        return IOSpec(tiling=Tiling.supported(radius=1))

    def build(self, config):
        return {"generator": nn.Conv2d(4, 3, 3, padding=1)}

    def predict(self, net, inputs, config):
        x, mask = inputs["image"], inputs["mask"]
        fill = torch.sigmoid(net(torch.cat([x * (1 - mask), mask], 1)))
        return x * (1 - mask) + fill * mask


class TinyColorize(ModelFamily):
    """1 -> 3: gray in, colour out (a per-pixel affine map to RGB)."""

    name = "tiny-colorize"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny gray to colour for tests."

    def io(self, config):
        return IOSpec(in_channels=1, out_channels=3, tiling=Tiling.supported(radius=0))

    def build(self, config):
        return {"generator": nn.Conv2d(1, 3, 1)}

    def predict(self, net, inputs, config):
        return torch.sigmoid(net(inputs["image"] * 4 - 2))


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


class TinyNorm(ModelFamily):
    """UNTILED: instance norm makes every output pixel depend on the whole image."""

    name = "tiny-norm"
    kind = Kind.IMAGE
    Config = TinyConfig
    summary = "Tiny instance-norm model for tests."

    def io(self, config):
        return IOSpec(tiling=Tiling.UNTILED)

    def build(self, config):
        return {
            "generator": nn.Sequential(
                nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4), nn.Conv2d(4, 3, 1)
            )
        }

    def predict(self, net, inputs, config):
        return torch.sigmoid(net(inputs["image"]))


@dataclass
class TwoConfig:
    direction: Literal["a2b", "b2a"] = field(
        default="a2b", metadata={"help": "Which generator runs."}
    )


class TinyTwo(ModelFamily):
    """Two generators (CycleGAN's shape): ``direction`` picks the one that runs."""

    name = "tiny-two"
    kind = Kind.IMAGE
    Config = TwoConfig
    summary = "Tiny two-generator model for tests."
    generators = ("a2b", "b2a")

    def io(self, config):
        return IOSpec(tiling=Tiling.supported(radius=0))

    def build(self, config):
        return {
            "a2b": nn.Conv2d(3, 3, 1),
            "b2a": nn.Conv2d(3, 3, 1),
            "discriminator": nn.Conv2d(3, 1, 3),
        }

    def build_generator(self, name, config):
        if name not in self.generators:
            raise KeyError(name)
        return nn.Conv2d(3, 3, 1)

    def generator_for(self, config):
        return config.direction

    def predict(self, net, inputs, config):
        return torch.sigmoid(net(inputs["image"]))


@dataclass
class GenConfig:
    image_size: int = field(default=8, metadata={"help": "Output size."})
    z_dim: int = field(default=4, metadata={"help": "Latent size."})


class TinyGen(ModelFamily):
    name = "tiny-gen"
    kind = Kind.GENERATE
    Config = GenConfig
    summary = "Tiny generator for tests."

    def io(self, config):
        s = config.image_size
        return IOSpec(in_channels=0, out_channels=3, image_size=(s, s))

    def build(self, config):
        return {"generator": nn.Linear(config.z_dim, 3 * config.image_size**2)}

    def latent(self, n, config, generator):
        return torch.randn(n, config.z_dim, generator=generator)

    def predict(self, net, inputs, config):
        s = config.image_size
        return torch.sigmoid(net(inputs["latent"])).view(-1, 3, s, s)
