"""Tiny trainable families for the engine tests (a GENERATE and an IMAGE kind), used directly
(no plugin discovery)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

import ganedit
from ganedit.io import datasets
from ganedit.nn import adam, gan_loss, init_weights


@dataclass
class TinyConfig:
    batch_size: int = field(default=4, metadata={"help": "Batch size."})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate."})
    ema_decay: float = field(default=0.0, metadata={"help": "Generator EMA decay (0: off)."})
    nan_from: int = field(default=-1, metadata={"help": "Test hook: NaN loss from this step on."})
    d_steps: int = field(default=1, metadata={"help": "Discriminator steps per generator step."})


class TinyGen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4 * 4 * 4)
        self.conv = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, 4, 4, 4)
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        return torch.sigmoid(self.conv(x))


def tiny_disc(channels: int = 1) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1)
    )


class TinyGAN(ganedit.ModelFamily):
    name = "tiny-gan"
    kind = ganedit.Kind.GENERATE
    Config = TinyConfig
    channels = 1

    def build(self, config):
        return {"generator": init_weights(TinyGen()), "discriminator": init_weights(tiny_disc())}

    def latent(self, n, config, generator):
        return torch.randn(n, 8, generator=generator)

    def predict(self, generator, x, mask=None):
        return generator(x)

    def output_size(self, config):
        return (8, 8)

    def optimizers(self, nets, config):
        return {
            k: adam(nets[k].parameters(), config.lr, (0.5, 0.999))
            for k in ("generator", "discriminator")
        }

    def dataset(self, paths, config):
        return datasets.image_folder(paths, channels=1, load_size=(8, 8), flip=True)

    def training_step(self, nets, opts, batch, engine):
        g, d = nets["generator"], nets["discriminator"]
        cfg = engine.config
        for b in engine.batches(batch, cfg.d_steps):
            real = b["image"]
            z = torch.randn(real.shape[0], 8, device=real.device)
            fake = g(z)
            opts["discriminator"].zero_grad(set_to_none=True)
            with engine.autocast():
                loss_d = gan_loss("bce", d(real), True) + gan_loss("bce", d(fake.detach()), False)
            if 0 <= cfg.nan_from <= engine.step_index:
                loss_d = loss_d * float("nan")
            engine.backward(loss_d)
            engine.step(opts["discriminator"])
        opts["generator"].zero_grad(set_to_none=True)
        with engine.autocast():
            loss_g = gan_loss("bce", d(fake), True, for_discriminator=False)
        engine.backward(loss_g)
        engine.step(opts["generator"])
        return {"d": loss_d.detach(), "g": loss_g.detach()}


class TinyImage(ganedit.ModelFamily):
    """An IMAGE family: learns to invert gray 8x8 images (L1 + a little adversarial loss)."""

    name = "tiny-image"
    kind = ganedit.Kind.IMAGE
    Config = TinyConfig
    channels = 1

    def build(self, config):
        return {"generator": nn.Conv2d(1, 1, 3, padding=1), "discriminator": tiny_disc()}

    def predict(self, generator, x, mask=None):
        return generator(x).clamp(0, 1)

    def optimizers(self, nets, config):
        return {k: adam(nets[k].parameters(), config.lr) for k in ("generator", "discriminator")}

    def validation_inputs(self, batch):
        return batch["image"][:4]

    def training_step(self, nets, opts, batch, engine):
        g, d = nets["generator"], nets["discriminator"]
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


def tiny_data(n: int = 16, seed: int = 0) -> datasets.TrainData:
    """``n`` random gray 8x8 images in memory (flips on)."""
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 8, 8, 1), generator=g, dtype=torch.uint8)
    return datasets.tensor_images(imgs, flip=True)


def fit_tiny(out, steps: int, *, config: TinyConfig | None = None, callbacks=(), **fit_kwargs):
    """:func:`ganedit.engine.fit` of :class:`TinyGAN` on ``tiny_data(10)`` with the settings the
    resume tests share: CPU, deterministic, seed 3, a checkpoint every 4 steps, a log line
    every step, no sample grids, no progress bar."""
    from ganedit.engine import Engine, fit

    engine = Engine(device="cpu", deterministic=True, seed=3, callbacks=list(callbacks))
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
