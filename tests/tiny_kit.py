"""The test suite's tiny families, in one place (CPU, random init, milliseconds a step).

The shapes the contract hosts are :mod:`ganedit.testing`'s tiny families (re-exported here
under the names the tests use); this module adds only the probes they cannot be:

- inference probes: :class:`TinyUp`, an upscaler with a configurable size multiple and a
  per-call delay (tiling, timing, kill-and-resume; the ray executor's ``ray-probe`` is it
  with a crash hook), and :class:`TinyKeep`, a near-identity x1 filter (exact pixel checks)
  whose :class:`TinyGray` variant is 1 -> 1 (layouts);
- training probes: :class:`TinyGAN`, ganedit.testing's tiny GENERATE family with two test
  hooks (a NaN loss from a given step on, several discriminator steps), and
  :class:`TinyImage`, an IMAGE family that learns to invert gray images; :func:`fit_tiny`
  trains :class:`TinyGAN` with the settings the engine tests share.

The fixture plugins loaded through entry points stay distributions of their own:
``ganedit_tiny`` (tests/fixtures/plugins) is written exactly as a third party would write
one, importing only ganedit's public API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.family import IOSpec, Kind, ModelFamily, Tiling
from ganedit.nn import adam, gan_loss
from ganedit.testing import TinyColorize, TinyInpaint
from ganedit.testing import TinyCycle as TinyTwo
from ganedit.testing import TinyGenerate as TinyGen
from ganedit.testing.families import TinyCycleConfig as TwoConfig

#: UNTILED (instance norm): the two-generator family is one.
TinyNorm = TinyTwo

__all__ = [
    "GANConfig",
    "TinyColorize",
    "TinyGAN",
    "TinyGen",
    "TinyGray",
    "TinyImage",
    "TinyInpaint",
    "TinyKeep",
    "TinyNorm",
    "TinyTwo",
    "TinyUp",
    "TwoConfig",
    "UpConfig",
    "fit_tiny",
    "tiny_data",
]


# ------------------------------------------------------------------------ inference probes
@dataclass
class UpConfig:
    scale: int = field(default=2, metadata={"help": "Upscaling factor (1 or 2 or 4)."})
    channels: int = field(default=8, metadata={"help": "Hidden channels."})
    delay: float = field(default=0.0, metadata={"help": "Seconds to sleep per call (tests)."})
    multiple: int = field(default=4, metadata={"help": "Declared size multiple."})


class TinyUp(ModelFamily):
    """Conv -> ReLU -> conv -> PixelShuffle; receptive radius 2 input pixels; size multiple
    ``config.multiple`` (4 by default). ``(N, 3, H, W)`` in [0, 1] -> ``(N, 3, sH, sW)`` in
    (0, 1) (a sigmoid)."""

    name = "tiny-up"
    kind = Kind.IMAGE
    Config = UpConfig
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
    """x1, near identity: ``x + 0.1 * tanh(conv3x3(x))`` clamped to [0, 1], ``channels``
    in and out (3); for exact-ish pixel tests."""

    name = "tiny-keep"
    kind = Kind.IMAGE
    Config = UpConfig
    summary = "Tiny x1 filter for tests."
    channels = 3

    def io(self, config):
        c = self.channels
        return IOSpec(in_channels=c, out_channels=c, tiling=Tiling.supported(radius=1))

    def build(self, config):
        return {"generator": nn.Conv2d(self.channels, self.channels, 3, padding=1)}

    def predict(self, net, inputs, config):
        x = inputs["image"]
        return (x + 0.1 * torch.tanh(net(x))).clamp(0, 1)


class TinyGray(TinyKeep):
    """1 -> 1: the gray variant of :class:`TinyKeep`."""

    name = "tiny-gray"
    summary = "Tiny gray filter for tests."
    channels = 1


# ------------------------------------------------------------------------- training probes
@dataclass
class GANConfig:
    z_dim: int = field(default=8, metadata={"help": "Latent size."})
    width: int = field(default=4, metadata={"help": "Hidden channels."})
    batch_size: int = field(default=4, metadata={"help": "Batch size."})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate."})
    ema_decay: float = field(default=0.0, metadata={"help": "Generator EMA decay (0: off)."})
    nan_from: int = field(default=-1, metadata={"help": "Test hook: NaN loss from this step on."})
    d_steps: int = field(default=1, metadata={"help": "Discriminator steps per generator step."})


class TinyGAN(TinyGen):
    """ganedit.testing's TinyGenerate (latent -> ``(N, 1, 8, 8)``) with the test hooks of
    :class:`GANConfig`: ``nan_from`` and ``d_steps``."""

    name = "tiny-gan"
    Config = GANConfig

    def training_step(self, step, batch):
        g, d = step.nets["generator"], step.nets["discriminator"]
        cfg, engine = step.config, step.engine
        for b in engine.batches(batch, cfg.d_steps):
            real = b["image"]
            z = torch.randn(real.shape[0], cfg.z_dim, device=real.device)
            fake = self.predict(g, {"latent": z}, cfg)
            step.opts["discriminator"].zero_grad(set_to_none=True)
            with engine.autocast():
                loss_d = gan_loss("bce", d(real), True) + gan_loss("bce", d(fake.detach()), False)
            if 0 <= cfg.nan_from <= step.index:
                loss_d = loss_d * float("nan")
            engine.backward(loss_d)
            engine.step(step.opts["discriminator"])
        step.opts["generator"].zero_grad(set_to_none=True)
        with engine.autocast():
            loss_g = gan_loss("bce", d(fake), True, for_discriminator=False)
        engine.backward(loss_g)
        engine.step(step.opts["generator"])
        return {"d": loss_d.detach(), "g": loss_g.detach()}


def _disc() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1)
    )


class TinyImage(ganedit.ModelFamily):
    """An IMAGE family: learns to invert gray 8x8 images (L1 + a little adversarial loss)."""

    name = "tiny-image"
    kind = ganedit.Kind.IMAGE
    Config = GANConfig

    def io(self, config):
        return ganedit.IOSpec(1, 1, tiling=ganedit.Tiling.supported(radius=1))

    def build(self, config):
        return {"generator": nn.Conv2d(1, 1, 3, padding=1), "discriminator": _disc()}

    def predict(self, net, inputs, config):
        return net(inputs["image"]).clamp(0, 1)

    def optimizers(self, nets, config):
        return {k: adam(nets[k].parameters(), config.lr) for k in ("generator", "discriminator")}

    def validation_inputs(self, batch, config):
        return {"image": batch["image"][:4], "target": 1 - batch["image"][:4]}

    def training_step(self, step, batch):
        g, d = step.nets["generator"], step.nets["discriminator"]
        opts, engine = step.opts, step.engine
        x = batch["image"]
        target = 1 - x
        y = g(x)
        opts["discriminator"].zero_grad(set_to_none=True)
        loss_d = gan_loss("lsgan", d(target), True) + gan_loss("lsgan", d(y.detach()), False)
        engine.backward(loss_d)
        engine.step(opts["discriminator"])
        opts["generator"].zero_grad(set_to_none=True)
        loss_g = (y - target).abs().mean() + 0.01 * gan_loss(
            "lsgan", d(y), True, for_discriminator=False
        )
        engine.backward(loss_g)
        engine.step(opts["generator"])
        return {"d": loss_d, "g": loss_g}


def tiny_data(n: int = 16, seed: int = 0):
    """``n`` random gray 8x8 uint8 images in memory (flips on)."""
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 8, 8, 1), generator=g, dtype=torch.uint8)
    return gdata.tensor_images(imgs, augment=gdata.JointAugment(flip=True))


def fit_tiny(
    out,
    steps: int,
    *,
    config: GANConfig | None = None,
    callbacks=(),
    memory_format: str = "auto",
    **fit_kwargs,
):
    """:func:`ganedit.engine.fit` of :class:`TinyGAN` on ``tiny_data(10)`` with the settings the
    resume tests share: CPU, deterministic, seed 3, a checkpoint every 4 steps, a log line
    every step, no sample grids, no progress bar."""
    from ganedit.engine import Engine, fit

    engine = Engine(
        device="cpu",
        deterministic=True,
        seed=3,
        callbacks=list(callbacks),
        memory_format=memory_format,
    )
    return fit(
        TinyGAN(),
        config or GANConfig(),
        tiny_data(10),
        out,
        engine,
        steps=steps,
        checkpoint_every=4,
        sample_every=0,
        log_every=1,
        progress=False,
        **fit_kwargs,
    )
