"""A tiny, trainable model family of every shape the v2 contract hosts.

They are real families (they train, save, resume, export and run over folders in seconds on a
CPU) written only against the public API, so they double as worked examples for plugin
authors and as the fixtures of the core's own tests:

============================  ===========  ========================================
family                        kind         shape
============================  ===========  ========================================
:class:`TinyGenerate`         GENERATE     latent -> 8x8 gray image (a small GAN)
:class:`TinyUpscale`          IMAGE        RGB x2 upscaler, exact tiling
:class:`TinyInpaint`          IMAGE_MASK   image + mask -> composited fill
:class:`TinyColorize`         IMAGE        paired gray -> colour (1 -> 3 channels)
:class:`TinyCycle`            IMAGE        unpaired, two generators (a2b, b2a), image pool
============================  ===========  ========================================

``TINY_FAMILIES`` maps each name to ``(family class, tiny config)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganedit import data as gdata
from ganedit.config import option
from ganedit.family import IOSpec, Kind, ModelFamily, Step, Tiling
from ganedit.io import read_image, write_image
from ganedit.nn import ImagePool, PatchDiscriminator, adam, gan_loss
from ganedit.testing import _FAMILY_NAMES

__all__ = list(_FAMILY_NAMES)  # declared once, in the package (which loads this module lazily)


def write_blobs(
    folder: Path, n: int, size: int, channels: int = 3, seed: int = 0, prefix: str = "img"
) -> list[Path]:
    """Write ``n`` smooth random colour-blob images of ``size`` px (uint8 PNG) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        coarse = rng.random((4, 4, channels))
        img = np.kron(coarse, np.ones((size // 4 + 1, size // 4 + 1, 1)))[:size, :size]
        img = (img * 0.8 + rng.random((size, size, channels)) * 0.2) * 255
        path = folder / f"{prefix}{i:02d}.png"
        write_image(path, img.round().astype(np.uint8))
        paths.append(path)
    return paths


def _update(step: Step, opt_key: str, loss: Any) -> None:
    """zero_grad, backward and step of one optimiser through the engine."""
    opt = step.opts[opt_key]
    opt.zero_grad(set_to_none=True)
    step.engine.backward(loss)
    step.engine.step(opt)


# ------------------------------------------------------------------------------- generate
@dataclass
class TinyGenerateConfig:
    z_dim: int = option(8, "Latent size.")
    width: int = option(8, "Hidden channels.")
    lr: float = option(2e-3, "Adam learning rate.", train_only=True)
    batch_size: int = option(4, "Images per step.", train_only=True)
    ema_decay: float = option(0.0, "Generator EMA (0 = off).", train_only=True)


class TinyGenerate(ModelFamily[TinyGenerateConfig]):
    """GENERATE: ``(N, z_dim)`` latents -> ``(N, 1, 8, 8)`` images; a two-layer GAN."""

    name = "tiny-generate"
    kind = Kind.GENERATE
    Config = TinyGenerateConfig
    summary = "Tiny 8x8 gray GAN (tests, example)."

    def io(self, config: TinyGenerateConfig) -> IOSpec:
        return IOSpec(in_channels=0, out_channels=1, image_size=(8, 8), tiling=Tiling.UNTILED)

    def build(self, config: TinyGenerateConfig) -> dict[str, nn.Module]:
        w = config.width
        g = nn.Sequential(
            nn.Linear(config.z_dim, w * 16),
            nn.Unflatten(1, (w, 4, 4)),
            nn.ReLU(),
            nn.ConvTranspose2d(w, 1, 4, 2, 1),
        )
        d = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(w * 16, 1)
        )
        return {"generator": g, "discriminator": d}

    def latent(
        self, n: int, config: TinyGenerateConfig, generator: torch.Generator
    ) -> torch.Tensor:
        """``(n, z_dim)`` standard normal float32 on the CPU."""
        return torch.randn((n, config.z_dim), generator=generator)

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Any
    ) -> torch.Tensor:
        """``{"latent": (N, z_dim)}`` -> ``(N, 1, 8, 8)`` float in [0, 1]."""
        return torch.sigmoid(net(inputs["latent"]))

    def optimizers(self, nets: Mapping[str, nn.Module], config: Any) -> dict[str, Any]:
        return {k: adam(nets[k].parameters(), config.lr, (0.5, 0.999)) for k in nets}

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        return gdata.image_folder(
            data["data"], channels=1, load_size=(8, 8), augment=gdata.JointAugment(flip=True)
        )

    def training_step(self, step: Step, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        g, d = step.nets["generator"], step.nets["discriminator"]
        real = batch["image"]
        z = torch.randn(real.shape[0], step.config.z_dim, device=real.device)
        with step.engine.autocast():
            fake = self.predict(g, {"latent": z}, step.config)
            loss_d = gan_loss("bce", d(real), True) + gan_loss("bce", d(fake.detach()), False)
        _update(step, "discriminator", loss_d)
        with step.engine.autocast():
            loss_g = gan_loss("bce", d(fake), True, for_discriminator=False)
        _update(step, "generator", loss_g)
        return {"d": loss_d.detach(), "g": loss_g.detach()}

    def example_data(self, folder: Path, config: Any) -> dict[str, list[Path]]:
        write_blobs(folder, 6, 8, channels=1)
        return {"data": [folder]}


# -------------------------------------------------------------------------- one generator
@dataclass
class _OneGeneratorConfig:
    """The fields every family with one generator has."""

    width: int = option(8, "Hidden channels.")
    lr: float = option(1e-3, "Adam learning rate.", train_only=True)
    batch_size: int = option(2, "Crops per step.", train_only=True)
    ema_decay: float = option(0.0, "Generator EMA (0 = off).", train_only=True)


class _OneGenerator(ModelFamily[Any]):
    """One network, ``"generator"`` (made by :meth:`build_generator`), under Adam (optimiser
    ``"g"``); example data: four colour-blob photos twice the training crop."""

    def build(self, config: Any) -> dict[str, nn.Module]:
        return {"generator": self.build_generator("generator", config)}

    def optimizers(self, nets: Mapping[str, nn.Module], config: Any) -> dict[str, Any]:
        return {"g": adam(nets["generator"].parameters(), config.lr)}

    def example_data(self, folder: Path, config: Any) -> dict[str, list[Path]]:
        write_blobs(folder, 4, 2 * config.crop)
        return {"data": [folder]}


# -------------------------------------------------------------------------------- upscale
@dataclass
class TinyUpscaleConfig(_OneGeneratorConfig):
    scale: Literal[1, 2, 4] = option(2, "Upscaling factor.")
    crop: int = option(16, "HR crop side.", train_only=True)
    ema_decay: float = option(0.9, "Generator EMA (0 = off).", train_only=True)


class TinyUpscale(_OneGenerator):
    """IMAGE x2: conv-ReLU-conv-PixelShuffle; receptive radius 2 input px (exact tiling)."""

    name = "tiny-upscale"
    kind = Kind.IMAGE
    Config = TinyUpscaleConfig
    summary = "Tiny RGB upscaler (tests, example)."

    def io(self, config: TinyUpscaleConfig) -> IOSpec:
        return IOSpec(3, 3, scale=int(config.scale), tiling=Tiling.supported(radius=2))

    def build_generator(self, name: str, config: TinyUpscaleConfig) -> nn.Module:
        s, w = int(config.scale), config.width
        return nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, 3 * s * s, 3, padding=1),
            nn.PixelShuffle(s),
        )

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Any
    ) -> torch.Tensor:
        """``{"image": (N, 3, H, W)}`` in [0, 1] -> ``(N, 3, sH, sW)`` in [0, 1]."""
        x = inputs["image"]
        base = F.interpolate(x, scale_factor=int(config.scale), mode="nearest")
        return (base + 0.1 * torch.tanh(net(x * 2 - 1))).clamp(0, 1)

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        return gdata.image_folder(
            data["data"], channels=3, crop=config.crop, augment=gdata.JointAugment(flip=True)
        )

    def _low(self, hr: torch.Tensor, config: Any) -> torch.Tensor:
        return F.avg_pool2d(hr, int(config.scale)) if int(config.scale) > 1 else hr

    def training_step(self, step: Step, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        hr = batch["image"]
        with step.engine.autocast():
            sr = self.predict(
                step.nets["generator"], {"image": self._low(hr, step.config)}, step.config
            )
            loss = (sr.float() - hr).abs().mean()
        _update(step, "g", loss)
        return {"l1": loss.detach()}

    def validation_inputs(self, batch: Mapping[str, torch.Tensor], config: Any) -> dict[str, Any]:
        hr = batch["image"][:4]
        return {"image": self._low(hr, config), "target": hr}


# -------------------------------------------------------------------------------- inpaint
@dataclass
class TinyInpaintConfig(_OneGeneratorConfig):
    crop: int = option(16, "Training crop side.", train_only=True)


class TinyInpaint(_OneGenerator):
    """IMAGE_MASK: three 3x3 convs on (masked image, mask), composited with the input."""

    name = "tiny-inpaint"
    kind = Kind.IMAGE_MASK
    Config = TinyInpaintConfig
    summary = "Tiny hole filler (tests, example)."
    data_roles = ("data", "image", "mask")

    def io(self, config: TinyInpaintConfig) -> IOSpec:
        return IOSpec(3, 3, size_multiple=4, tiling=Tiling.supported(radius=3))

    def build_generator(self, name: str, config: TinyInpaintConfig) -> nn.Module:
        w = config.width
        return nn.Sequential(
            nn.Conv2d(4, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, 3, 3, padding=1),
        )

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Any
    ) -> torch.Tensor:
        """``{"image": (N, 3, H, W), "mask": (N, 1, H, W)}`` (1 = fill) -> the composite
        ``(N, 3, H, W)`` in [0, 1]: the input outside the hole, the network inside it."""
        x, m = inputs["image"], inputs["mask"]
        known = x * (1 - m)
        fill = torch.sigmoid(net(torch.cat([known * 2 - 1, m], 1)))
        return known + fill * m

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        if "image" in data:
            return gdata.image_mask(data["image"], data["mask"], channels=3, crop=config.crop)
        masks = gdata.MaskGenerator("box")
        return gdata.image_folder(data["data"], channels=3, crop=config.crop, masks=masks)

    def training_step(self, step: Step, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        x, m = batch["image"], batch["mask"]
        with step.engine.autocast():
            y = self.predict(step.nets["generator"], {"image": x, "mask": m}, step.config)
            loss = ((y.float() - x).abs() * m).sum() / m.sum().clamp_min(1) / 3
        _update(step, "g", loss)
        return {"hole_l1": loss.detach()}


# ------------------------------------------------------------------------------- colorize
@dataclass
class TinyColorizeConfig(_OneGeneratorConfig):
    batch_size: int = option(2, "Pairs per step.", train_only=True)


class TinyColorize(_OneGenerator):
    """IMAGE 1 -> 3, paired: a stride-2 encoder, nearest upsampling and a 3x3 head (size
    multiple 2, receptive radius 5: exact tiling). Trains from ``--data a=GRAY --data b=RGB``
    (pairs matched by name) or from one folder of ``A|B`` side-by-side images."""

    name = "tiny-colorize"
    kind = Kind.IMAGE
    Config = TinyColorizeConfig
    summary = "Tiny paired gray-to-colour translator (tests, example)."
    data_roles = ("data", "a", "b")

    def io(self, config: TinyColorizeConfig) -> IOSpec:
        return IOSpec(1, 3, size_multiple=2, tiling=Tiling.supported(radius=5))

    def build_generator(self, name: str, config: TinyColorizeConfig) -> nn.Module:
        w = config.width
        return nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w, 3, 3, padding=1),
        )

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Any
    ) -> torch.Tensor:
        """``{"image": (N, 1, H, W)}`` gray in [0, 1] -> ``(N, 3, H, W)`` RGB in [0, 1]."""
        return torch.sigmoid(net(inputs["image"] * 2 - 1))

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        if "a" in data or "b" in data:
            if not ("a" in data and "b" in data):
                raise gdata.DatasetError("tiny-colorize: give both --data a=DIR and b=DIR")
            return gdata.paired_folders(
                data["a"], data["b"], channels=3, augment=gdata.JointAugment(flip=True)
            )
        return gdata.side_by_side(data["data"], channels=3, augment=gdata.JointAugment(flip=True))

    def _gray(self, x: torch.Tensor) -> torch.Tensor:
        w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)

    def training_step(self, step: Step, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        x, y = self._gray(batch["input"]), batch["target"]
        with step.engine.autocast():
            out = self.predict(step.nets["generator"], {"image": x}, step.config)
            loss = (out.float() - y).abs().mean()
        _update(step, "g", loss)
        return {"l1": loss.detach()}

    def validation_inputs(self, batch: Mapping[str, torch.Tensor], config: Any) -> dict[str, Any]:
        return {"image": self._gray(batch["input"][:4]), "target": batch["target"][:4]}

    def example_data(self, folder: Path, config: Any) -> dict[str, list[Path]]:
        colour = write_blobs(folder / "b", 4, 16, channels=3)
        for p in colour:
            rgb = read_image(p).astype(np.float32)
            gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
            write_image(folder / "a" / p.name, gray.round().astype(np.uint8))
        return {"a": [folder / "a"], "b": [folder / "b"]}


# ---------------------------------------------------------------------------------- cycle
@dataclass
class TinyCycleConfig:
    direction: Literal["a2b", "b2a"] = option("a2b", "Generator to run.")
    width: int = option(8, "Hidden channels.")
    lr: float = option(1e-3, "Adam learning rate.", train_only=True)
    batch_size: int = option(2, "Images per domain and step.", train_only=True)
    crop: int = option(16, "Training crop side.", train_only=True)
    pool_size: int = option(4, "Fakes kept per discriminator.", train_only=True)
    cycle_weight: float = option(10.0, "Cycle-consistency weight.", train_only=True)
    ema_decay: float = option(0.0, "Generator EMA (0 = off).", train_only=True)


class TinyCycle(ModelFamily[TinyCycleConfig]):
    """IMAGE, unpaired, two generators ``a2b`` and ``b2a`` with instance norm (so UNTILED),
    LSGAN discriminators fed from checkpointed image pools, cycle-consistency loss."""

    name = "tiny-cycle"
    kind = Kind.IMAGE
    Config = TinyCycleConfig
    summary = "Tiny unpaired two-way translator (tests, example)."
    generators = ("a2b", "b2a")
    data_roles = ("a", "b")

    def io(self, config: TinyCycleConfig) -> IOSpec:
        return IOSpec(3, 3, tiling=Tiling.UNTILED)

    def _generator(self, config: TinyCycleConfig) -> nn.Module:
        w = config.width
        return nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(w),
            nn.ReLU(),
            nn.Conv2d(w, 3, 3, padding=1, padding_mode="reflect"),
        )

    def build(self, config: TinyCycleConfig) -> dict[str, nn.Module]:
        nets = {g: self._generator(config) for g in self.generators}
        for d in ("d_a", "d_b"):
            nets[d] = PatchDiscriminator(3, base=config.width, layers=1, norm="instance")
        return nets

    def build_generator(self, name: str, config: TinyCycleConfig) -> nn.Module:
        return self._generator(config)

    def generator_for(self, config: TinyCycleConfig) -> str:
        return config.direction

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Any
    ) -> torch.Tensor:
        """``{"image": (N, 3, H, W)}`` in [0, 1] -> ``(N, 3, H, W)`` in [0, 1]."""
        x = inputs["image"]
        return (x + 0.5 * torch.tanh(net(x * 2 - 1))).clamp(0, 1)

    def optimizers(self, nets: Mapping[str, nn.Module], config: Any) -> dict[str, Any]:
        gens = [p for g in self.generators for p in nets[g].parameters()]
        discs = [p for d in ("d_a", "d_b") for p in nets[d].parameters()]
        return {"g": adam(gens, config.lr, (0.5, 0.999)), "d": adam(discs, config.lr, (0.5, 0.999))}

    def training_state(self, config: TinyCycleConfig) -> dict[str, torch.Tensor]:
        empty = torch.zeros((0, 3, config.crop, config.crop))
        return {"pool_a": empty, "pool_b": empty.clone()}

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        return gdata.unpaired(
            data["a"],
            data["b"],
            channels=3,
            crop=config.crop,
            augment=gdata.JointAugment(flip=True),
        )

    def training_step(self, step: Step, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        n, cfg = step.nets, step.config
        a, b = batch["a"], batch["b"]
        with step.engine.autocast():
            fake_b = self.predict(n["a2b"], {"image": a}, cfg)
            fake_a = self.predict(n["b2a"], {"image": b}, cfg)
            cyc = (self.predict(n["b2a"], {"image": fake_b}, cfg) - a).abs().mean() + (
                self.predict(n["a2b"], {"image": fake_a}, cfg) - b
            ).abs().mean()
            adv = gan_loss("lsgan", n["d_b"](fake_b), True) + gan_loss(
                "lsgan", n["d_a"](fake_a), True
            )
            loss_g = adv + cfg.cycle_weight * cyc
        _update(step, "g", loss_g)  # the d step below zeroes what this left in d's grads
        pool = ImagePool(cfg.pool_size)
        old_b = pool.query(step.state, "pool_b", fake_b.detach())
        old_a = pool.query(step.state, "pool_a", fake_a.detach())
        with step.engine.autocast():
            loss_d = 0.5 * (
                gan_loss("lsgan", n["d_b"](b), True)
                + gan_loss("lsgan", n["d_b"](old_b), False)
                + gan_loss("lsgan", n["d_a"](a), True)
                + gan_loss("lsgan", n["d_a"](old_a), False)
            )
        _update(step, "d", loss_d)
        return {"g": loss_g.detach(), "cycle": cyc.detach(), "d": loss_d.detach()}

    def validation_inputs(self, batch: Mapping[str, torch.Tensor], config: Any) -> dict[str, Any]:
        return {"image": batch["a"][:4], "b": batch["b"][:4]}

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: Any
    ) -> list[torch.Tensor]:
        """a | a2b(a) | b2a(a2b(a)) | b | b2a(b) | a2b(b2a(b))."""
        a, b = inputs["image"], inputs["b"]
        fb = self.predict(nets["a2b"], {"image": a}, config)
        fa = self.predict(nets["b2a"], {"image": b}, config)
        back_a = self.predict(nets["b2a"], {"image": fb}, config)
        back_b = self.predict(nets["a2b"], {"image": fa}, config)
        return [a, fb, back_a, b, fa, back_b]

    def example_data(self, folder: Path, config: Any) -> dict[str, list[Path]]:
        write_blobs(folder / "a", 3, config.crop + 4, seed=1)
        write_blobs(folder / "b", 5, config.crop + 4, seed=2)
        return {"a": [folder / "a"], "b": [folder / "b"]}


TINY_FAMILIES: dict[str, tuple[type[ModelFamily], Any]] = {
    TinyGenerate.name: (TinyGenerate, TinyGenerateConfig()),
    TinyUpscale.name: (TinyUpscale, TinyUpscaleConfig()),
    TinyInpaint.name: (TinyInpaint, TinyInpaintConfig()),
    TinyColorize.name: (TinyColorize, TinyColorizeConfig()),
    TinyCycle.name: (TinyCycle, TinyCycleConfig()),
}
