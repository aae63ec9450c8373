"""The ``dcgan`` model family: unconditional image synthesis (Radford et al. 2015).

Departures from the paper (see also ``README.md``):

* Output: the generator's tanh output in ``[-1, 1]`` is mapped to ``[0, 1]`` by :meth:`predict`
  (ganedit's image convention); real images are mapped to ``[-1, 1]`` in :meth:`training_step`.
* Sizes: 32, 64 and 128 pixels (the paper: 64). Fashion-MNIST's 28x28 items are zero-padded by
  2 pixels to 32x32 (the background is black, so padding adds no content and no resampling).
* Loss: non-saturating BCE by default as in the paper; LSGAN and hinge are options, and so is
  spectral norm in the discriminator (which then drops its batch norms).
* EMA: the engine keeps an exponential moving average of the generator's weights
  (``ema_decay``); the shipped weights are the EMA generator's. The paper has no EMA.
* ``d_steps`` > 1 updates the discriminator several times per generator update, each time on
  the same real batch against fresh fakes (the paper: 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

import ganedit
from ganedit.config import option
from ganedit.nn import adam, frozen, gan_loss
from ganedit_dcgan.networks import Discriminator, Generator

__all__ = ["DCGAN", "DCGANConfig"]


@dataclass
class DCGANConfig:
    """DCGAN hyper-parameters; the defaults are the paper's (64x64 RGB, Adam 2e-4, beta1 0.5)."""

    image_size: Literal[32, 64, 128] = option(
        64, "Side of the square images in pixels: 32, 64 or 128."
    )
    channels: Literal[1, 3] = option(3, "Colour channels: 1 (gray) or 3 (RGB).")
    z_dim: int = option(100, "Size of the latent vector z ~ N(0, I).")
    ngf: int = option(64, "Generator width: channels of its last hidden layer (doubling inwards).")
    ndf: int = option(
        64, "Discriminator width: channels of its first layer (doubling inwards).", train_only=True
    )
    loss: Literal["bce", "lsgan", "hinge"] = option(
        "bce", "Adversarial loss: bce (non-saturating, the paper), lsgan or hinge.", train_only=True
    )
    spectral_norm: bool = option(
        False,
        "Spectral norm on the discriminator's convolutions (and no batch norm there).",
        train_only=True,
    )
    lr: float = option(2e-4, "Adam learning rate of both networks.", train_only=True)
    d_lr: float = option(
        0.0,
        "The discriminator's own Adam learning rate (two time-scale update rule, "
        "Heusel et al. 2017); 0 = lr.",
        train_only=True,
    )
    betas: tuple[float, float] = option((0.5, 0.999), "Adam betas (beta1, beta2).", train_only=True)
    batch_size: int = option(128, "Images per training step.", train_only=True)
    ema_decay: float = option(
        0.999, "Decay of the generator's exponential moving average (0 = no EMA).", train_only=True
    )
    d_steps: int = option(1, "Discriminator updates per generator update.", train_only=True)


def _to_signed(x: torch.Tensor) -> torch.Tensor:
    """Real batch -> float in ``[-1, 1]``: uint8 ``[0, 255]`` or float ``[0, 1]`` NCHW."""
    if x.dtype == torch.uint8:
        return x.float().mul_(2.0 / 255.0).sub_(1.0)
    return x.float() * 2 - 1


class DCGAN(ganedit.ModelFamily):
    """Deep convolutional GAN (Radford, Metz & Chintala 2015, arXiv:1511.06434)."""

    name = "dcgan"
    kind = ganedit.Kind.GENERATE
    Config = DCGANConfig
    summary = (
        "DCGAN (Radford et al. 2015): draws new images; bundled weights make Fashion-MNIST items."
    )

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: DCGANConfig) -> ganedit.IOSpec:
        """No image input; ``config.channels`` out at ``image_size`` x ``image_size``."""
        size = int(config.image_size)
        return ganedit.IOSpec(
            in_channels=0,
            out_channels=int(config.channels),
            image_size=(size, size),
            tiling=ganedit.Tiling.UNTILED,
        )

    def build(self, config: DCGANConfig) -> dict[str, nn.Module]:
        """``{"generator": Generator, "discriminator": Discriminator}`` for ``config``."""
        size, ch = int(config.image_size), int(config.channels)
        return {
            "generator": Generator(size, ch, int(config.z_dim), int(config.ngf)),
            "discriminator": Discriminator(size, ch, int(config.ndf), bool(config.spectral_norm)),
        }

    def latent(self, n: int, config: DCGANConfig, generator: torch.Generator) -> torch.Tensor:
        """``(n, z_dim, 1, 1)`` float32 standard-normal latents on the CPU, drawn from
        ``generator`` one item at a time, so the first ``k`` latents (and images) of a seed do
        not depend on ``n`` (torch draws large and small tensors with different algorithms)."""
        zd = int(config.z_dim)
        if n == 0:
            return torch.empty((0, zd, 1, 1))
        z = [torch.randn((zd,), generator=generator, dtype=torch.float32) for _ in range(n)]
        return torch.stack(z).view(n, zd, 1, 1)

    def build_generator(self, name: str, config: DCGANConfig) -> nn.Module:
        """The :class:`~ganedit_dcgan.networks.Generator` alone (inference)."""
        size, ch = int(config.image_size), int(config.channels)
        return Generator(size, ch, int(config.z_dim), int(config.ngf))

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: DCGANConfig
    ) -> torch.Tensor:
        """Images for latents.

        Args:
            net: the :class:`~ganedit_dcgan.networks.Generator`, on its device.
            inputs: ``{"latent": (N, z_dim, 1, 1)}`` (or ``(N, z_dim)``) float latents from
                :meth:`latent`.
            config: the Config.

        Returns:
            ``(N, channels, image_size, image_size)`` float in ``[0, 1]``.
        """
        return (net(inputs["latent"]) * 0.5 + 0.5).clamp(0, 1)

    def default_weights(self, config: DCGANConfig) -> str:
        """Fashion-MNIST 32x32 gray weights (fp16 safetensors + card) bundled in assets/."""
        return "ganedit_dcgan:weights/dcgan-fashion.safetensors"

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: DCGANConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam (``betas``) for the generator (``lr``) and the discriminator (``d_lr``, or
        ``lr`` when 0)."""
        betas = (float(config.betas[0]), float(config.betas[1]))
        d_lr = float(config.d_lr) or float(config.lr)
        return {
            "generator": adam(nets["generator"].parameters(), float(config.lr), betas),
            "discriminator": adam(nets["discriminator"].parameters(), d_lr, betas),
        }

    def dataset(
        self, data: Mapping[str, Sequence[Path]], config: DCGANConfig
    ) -> ganedit.data.TrainData:
        """Training images from ``data["data"]`` (``--data DIR``), as a
        :class:`ganedit.data.TrainData`.

        * Fashion-MNIST / MNIST: one idx images file, or one folder holding idx files (the
          ``train-images-idx3-ubyte[.gz]`` one is used): the 28x28 items are zero-padded to
          32x32, then resized to ``image_size`` if that is larger; gray is repeated to RGB when
          ``channels`` is 3. Not flipped (the paper uses no augmentation).
        * Anything else: every image under ``paths`` (recursive), converted to ``channels``,
          its shorter side resized to ``image_size`` when decoded, then a square
          ``image_size`` window cut from it (random along the longer side during training,
          centred for previews) and flipped horizontally at random.
        """
        from ganedit import data as datasets

        size, ch = int(config.image_size), int(config.channels)
        plist = [Path(p) for p in data.get("data", [])]
        if not plist:
            raise ValueError("dcgan: no training data given")
        idx = _find_idx_files(plist[0]) if len(plist) == 1 else None
        if idx is not None:
            images = datasets.read_idx(idx[0])
            labels = datasets.read_idx(idx[1]) if idx[1] is not None else None
            if images.ndim != 3:
                raise ValueError(f"{idx[0]}: expected (N, H, W) idx images, found {images.shape}")
            h, w = images.shape[1:]
            ph, pw = max(0, 32 - h), max(0, 32 - w)
            if ph or pw:
                images = np.pad(images, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
            load = None if images.shape[1:] == (size, size) else (size, size)
            return datasets.tensor_images(images, labels, channels=ch, load_size=load)
        return datasets.image_folder(
            plist, channels=ch, load_size=size, crop=size, augment=datasets.JointAugment(flip=True)
        )

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """``d_steps`` discriminator updates, then one generator update.

        As in the paper's reference code, the generator update scores the fakes of the last
        discriminator update again (one generator forward pass per step; earlier
        discriminator updates draw theirs without a graph).

        Args:
            step: the :class:`ganedit.Step`: nets ``"generator"`` and ``"discriminator"`` on
                the engine's device in train mode, their optimisers (same keys), the config.
            batch: ``{"image": (N, C, S, S)}`` real images, float32 in ``[0, 1]``.

        Returns:
            ``{"d": loss_d, "g": loss_g, "d_real": mean D(real), "d_fake": mean D(G(z))}``,
            detached scalars.
        """
        G, D = step.nets["generator"], step.nets["discriminator"]
        opt_g, opt_d = step.opts["generator"], step.opts["discriminator"]
        config, engine = step.config, step.engine
        kind = str(config.loss)
        z_dim = int(config.z_dim)
        d_steps = max(1, int(config.d_steps))
        real = _to_signed(batch["image"])
        n = real.shape[0]

        for i in range(d_steps):
            last = i == d_steps - 1
            z = torch.randn(n, z_dim, 1, 1, device=real.device)
            opt_d.zero_grad(set_to_none=True)
            with engine.autocast():
                if last:  # kept with its graph: the generator step reuses these fakes
                    fake = G(z)
                else:
                    with torch.no_grad():
                        fake = G(z)
                logit_real = D(real)
                logit_fake = D(fake.detach())
                loss_d = gan_loss(kind, logit_real, True, True) + gan_loss(
                    kind, logit_fake, False, True
                )
            engine.backward(loss_d)
            engine.step(opt_d)

        opt_g.zero_grad(set_to_none=True)
        with engine.autocast(), frozen(D):  # no weight gradients for D in G's update
            loss_g = gan_loss(kind, D(fake), True, False)
        engine.backward(loss_g)
        engine.step(opt_g)
        return {
            "d": loss_d.detach(),
            "g": loss_g.detach(),
            "d_real": logit_real.detach().float().mean(),
            "d_fake": logit_fake.detach().float().mean(),
        }

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: ganedit.Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> ganedit.EvalResult:
        """Fréchet distance, class shares and nearest-neighbour distance in the feature space of
        the project's Fashion-MNIST classifier, against ``data["data"]`` (the Fashion-MNIST
        folder; see :mod:`ganedit_dcgan.evaluate`)."""
        from ganedit_dcgan.evaluate import evaluate_generator

        return evaluate_generator(editor, list(data.get("data", [])), options)

    def example_data(self, folder: Path, config: DCGANConfig) -> dict[str, list[Path]]:
        """Eight small random-blob images (for the conformance kit)."""
        size, ch = int(config.image_size), int(config.channels)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:size, 0:size]
        for i in range(8):
            (cy, cx), r = rng.uniform(0.3, 0.7, 2) * size, rng.uniform(0.15, 0.3) * size
            blob = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8) * 220
            ganedit.write_image(folder / f"item{i}.png", np.repeat(blob[..., None], ch, -1))
        return {"data": [folder]}


def _find_idx_files(path: Path) -> tuple[Path, Path | None] | None:
    """``(images, labels or None)`` when ``path`` is an idx images file or a folder holding
    one (the training file preferred), else ``None``."""
    if path.is_file():
        if "idx3-ubyte" not in path.name:
            return None
        images = path
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if "idx3-ubyte" in p.name)
        if not files:
            return None
        images = next((p for p in files if p.name.startswith("train")), files[0])
    else:
        return None
    labels = images.with_name(images.name.replace("images-idx3", "labels-idx1"))
    return images, labels if labels.is_file() else None
