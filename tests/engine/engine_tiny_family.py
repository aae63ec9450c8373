"""The engine tests' families: ganedit.testing's tiny GENERATE family with two test hooks
(a NaN loss from a given step on, several discriminator steps), and an IMAGE family that learns
to invert gray images."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.nn import adam, gan_loss
from ganedit.testing.families import TinyGenerate


@dataclass
class TinyConfig:
    z_dim: int = field(default=8, metadata={"help": "Latent size."})
    width: int = field(default=4, metadata={"help": "Hidden channels."})
    batch_size: int = field(default=4, metadata={"help": "Batch size."})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate."})
    ema_decay: float = field(default=0.0, metadata={"help": "Generator EMA decay (0: off)."})
    nan_from: int = field(default=-1, metadata={"help": "Test hook: NaN loss from this step on."})
    d_steps: int = field(default=1, metadata={"help": "Discriminator steps per generator step."})


class TinyGAN(TinyGenerate):
    name = "tiny-gan"
    Config = TinyConfig

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
    Config = TinyConfig

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
    """``n`` random gray 8x8 images in memory (flips on)."""
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 8, 8, 1), generator=g, dtype=torch.uint8)
    return gdata.tensor_images(imgs, augment=gdata.JointAugment(flip=True))


def fit_tiny(
    out,
    steps: int,
    *,
    config: TinyConfig | None = None,
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
        config or TinyConfig(),
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
