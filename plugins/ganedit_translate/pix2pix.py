"""The ``pix2pix`` model family: paired image-to-image translation (Isola et al. 2017).

A U-Net generator (``ganedit.nn.UNetGenerator``, "U-Net-256" by default) is trained against a
conditional PatchGAN (``ganedit.nn.PatchDiscriminator`` on the input and the output
concatenated) with the vanilla GAN loss plus ``l1_weight`` times the L1 distance to the target.
The Config's defaults are the paper's; ``README.md`` lists every departure and the settings
of the bundled Fashion-MNIST edges -> items weights.

Departures from the paper kept in the code (see ``README.md``):

* Inference runs the generator in eval mode: batch norm uses its running statistics and
  dropout is off, so the output is deterministic (the paper keeps dropout on and uses the
  test batch's statistics). ``test_dropout=True`` keeps dropout on at inference.
* ``gan_weight`` scales the adversarial term (the paper: 1); 0 gives the L1-only U-Net
  baseline of the paper's ablation (no discriminator is built or trained).
* The paper's schedule (constant rate for half the steps, then linear to zero) is the train
  command's ``--lr-schedule linear --hold-steps STEPS/2``: the core has no per-family default
  schedule.
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
from ganedit import data as gdata
from ganedit.config import option
from ganedit.nn import PatchDiscriminator, UNetGenerator, adam, frozen, gan_loss, init_weights
from ganedit_translate.common import (
    TrainingOptions,
    TranslationFamily,
    update,
)

__all__ = ["Pix2Pix", "Pix2PixConfig", "Pix2PixOptions", "to_channels"]


@dataclass
class Pix2PixOptions:
    """pix2pix's own options: the U-Net, the data layout, the critic and the losses."""

    in_channels: Literal[1, 3] = option(3, "Input channels (1 gray, 3 RGB).")
    out_channels: Literal[1, 3] = option(3, "Output channels.")
    depth: int = option(8, "U-Net levels; images pad to 2**depth.")
    width: int = option(64, "Channels of the U-Net's first layer (ngf).")
    norm: Literal["batch", "instance", "none"] = option(
        "batch", "Normalisation in the U-Net and the discriminator."
    )
    dropout: bool = option(True, "Dropout(0.5) in the inner decoder.")
    test_dropout: bool = option(False, "Keep dropout on at inference (the paper's noise).")
    direction: Literal["AtoB", "BtoA"] = option(
        "AtoB", "A|B side-by-side data: which half is the input.", train_only=True
    )
    ndf: int = option(64, "Discriminator width.", train_only=True)
    d_layers: int = option(3, "Discriminator stride-2 layers (3 = 70x70 patches).", train_only=True)
    gan_loss: Literal["bce", "lsgan", "hinge"] = option(
        "bce", "Adversarial loss (the paper: bce, vanilla GAN).", train_only=True
    )
    gan_weight: float = option(
        1.0, "Weight of the adversarial loss; 0 = L1-only U-Net.", train_only=True
    )
    l1_weight: float = option(100.0, "Weight of the L1 loss.", train_only=True)


@dataclass
class Pix2PixConfig(TrainingOptions, Pix2PixOptions):
    """pix2pix hyper-parameters; the defaults are the paper's (256 px RGB, U-Net-256): the
    options of :class:`Pix2PixOptions`, then the shared training ones, four of them worded
    for pairs here (a redefined field keeps its place)."""

    lr: float = option(2e-4, "Adam learning rate of both nets.", train_only=True)
    batch_size: int = option(1, "Pairs per step.", train_only=True)
    load_size: int = option(286, "Jitter: resize pairs to this side first.", train_only=True)
    flip: bool = option(True, "Random horizontal mirror of pairs.", train_only=True)


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``(N, C, H, W)`` float -> ``(N, channels, H, W)``: RGB to gray by luma (ITU-R 601),
    gray to RGB by repetition; unchanged when C already is ``channels``."""
    if x.shape[1] == channels:
        return x
    if channels == 1:
        w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    return x.expand(-1, channels, -1, -1)


class Pix2Pix(TranslationFamily[Pix2PixConfig]):
    """pix2pix (Isola, Zhu, Zhou & Efros 2017, arXiv:1611.07004)."""

    name = "pix2pix"
    Config = Pix2PixConfig
    summary = (
        "pix2pix (Isola et al. 2017): paired translation; bundled weights turn edge maps "
        "(ganedit edges) into Fashion-MNIST items."
    )

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: Pix2PixConfig) -> ganedit.IOSpec:
        """``in_channels`` -> ``out_channels``, scale 1, size multiple ``2**depth``; UNTILED:
        the U-Net's receptive field (``3 * (2**depth - 1)`` px each way) spans the image."""
        return ganedit.IOSpec(
            int(config.in_channels),
            int(config.out_channels),
            size_multiple=2 ** int(config.depth),
            tiling=ganedit.Tiling.UNTILED,
        )

    def build_generator(self, name: str, config: Pix2PixConfig) -> nn.Module:
        """The U-Net alone (inference skips the discriminator)."""
        net = UNetGenerator(
            int(config.in_channels),
            int(config.out_channels),
            depth=int(config.depth),
            base=int(config.width),
            norm=str(config.norm),
            dropout=bool(config.dropout),
        )
        return init_weights(net)

    def build(self, config: Pix2PixConfig) -> dict[str, nn.Module]:
        """``{"generator": U-Net, "discriminator": PatchGAN over cat(input, output)}``; the
        L1-only baseline (``gan_weight == 0``) has no discriminator."""
        nets = {"generator": self.build_generator("generator", config)}
        if float(config.gan_weight) > 0:
            d = PatchDiscriminator(
                int(config.in_channels) + int(config.out_channels),
                base=int(config.ndf),
                layers=int(config.d_layers),
                norm=str(config.norm),
            )
            nets["discriminator"] = init_weights(d)
        return nets

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: Pix2PixConfig
    ) -> torch.Tensor:
        """Translate a batch.

        Args:
            net: the U-Net (eval mode for inference: deterministic unless ``test_dropout``).
            inputs: ``{"image": (N, in_channels, H, W)}`` float32 in ``[0, 1]``, H and W
                multiples of ``2**depth``.
            config: the Config.

        Returns:
            ``(N, out_channels, H, W)`` float in ``[0, 1]``.
        """
        if config.test_dropout and not net.training:
            for m in net.modules():
                if isinstance(m, nn.Dropout):
                    m.train()
        return super().predict(net, inputs, config)

    def default_weights(self, config: Pix2PixConfig) -> str:
        """Edges -> Fashion-MNIST items, 64x64 gray (fp16 safetensors + card)."""
        return "ganedit_translate:weights/pix2pix-fashion-edges.safetensors"

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: Pix2PixConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam (``lr``, ``betas``) for the generator (``"g"``) and discriminator (``"d"``,
        absent for the L1-only baseline)."""
        betas = (float(config.betas[0]), float(config.betas[1]))
        opts: dict[str, torch.optim.Optimizer] = {
            "g": adam(nets["generator"].parameters(), float(config.lr), betas)
        }
        if "discriminator" in nets:
            opts["d"] = adam(nets["discriminator"].parameters(), float(config.lr), betas)
        return opts

    def _augment(self, config: Pix2PixConfig) -> gdata.JointAugment:
        load, crop = int(config.load_size), int(config.crop_size)
        if crop % 2 ** int(config.depth):
            raise gdata.DatasetError(
                f"pix2pix: crop_size {crop} is not a multiple of 2**depth = {2**config.depth}"
            )
        if load < crop:
            raise gdata.DatasetError(f"pix2pix: load_size {load} is smaller than crop {crop}")
        return gdata.JointAugment(flip=bool(config.flip), jitter=(load, crop))

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Pix2PixConfig) -> Any:
        """Pairs as ``batch["input"]`` / ``batch["target"]``, jittered and flipped jointly.

        ``--data DIR``: ``A|B`` side-by-side images (``direction`` picks the input half);
        ``--data a=DIR --data b=DIR``: inputs and targets matched by relative path and name.

        Raises:
            DatasetError: only one of ``a`` / ``b``, both layouts at once, a file without a
                partner, an empty folder, an unreadable file (each named).
        """
        channels = max(int(config.in_channels), int(config.out_channels))
        aug = self._augment(config)
        paired = {"a", "b"} & set(data)
        if paired:
            if "data" in data:
                raise gdata.DatasetError(
                    "pix2pix: give either --data DIR (A|B images) or --data a=DIR --data b=DIR"
                )
            missing = ({"a", "b"} - paired).pop() if len(paired) == 1 else None
            if missing:
                raise gdata.DatasetError(
                    f"pix2pix: --data {missing}=DIR is missing (paired data needs both a= and "
                    "b=; a plain --data DIR takes A|B side-by-side images)"
                )
            return gdata.paired_folders(
                gdata.role(data, "a"), gdata.role(data, "b"), channels=channels, augment=aug
            )
        return gdata.side_by_side(
            gdata.role(data, "data"), channels=channels, direction=config.direction, augment=aug
        )

    def _pair(
        self, batch: Mapping[str, torch.Tensor], config: Pix2PixConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_channels(batch["input"], int(config.in_channels))
        return x, to_channels(batch["target"], int(config.out_channels))

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One discriminator update (none for the L1-only baseline), then one generator
        update on ``gan_weight * adversarial + l1_weight * L1``.

        Args:
            step: nets ``generator``/``discriminator``, optimisers ``g``/``d``, the config.
            batch: ``{"input", "target"}``: ``(N, C, S, S)`` float32 in ``[0, 1]``.

        Returns:
            ``{"d", "g_adv", "l1"}`` detached scalars (``d``, ``g_adv`` 0 when L1-only).
        """
        cfg, engine = step.config, step.engine
        g, d = step.nets["generator"], step.nets.get("discriminator")
        x, y = self._pair(batch, cfg)
        kind, adversarial = str(cfg.gan_loss), d is not None

        def critic(out: torch.Tensor) -> torch.Tensor:
            assert d is not None
            return d(torch.cat([x, out], 1) * 2 - 1)

        with engine.autocast():
            fake = self.predict(g, {"image": x}, cfg)
        loss_d = torch.zeros((), device=x.device)
        if adversarial:
            with engine.autocast():
                loss_d = 0.5 * (
                    gan_loss(kind, critic(y), True) + gan_loss(kind, critic(fake.detach()), False)
                )
            update(step, "d", loss_d)
        with engine.autocast(), frozen(d):  # no weight grads for d in the generator's update
            adv = gan_loss(kind, critic(fake), True, False) if adversarial else loss_d
            l1 = (fake.float() - y).abs().mean()
            loss_g = float(cfg.gan_weight) * adv + float(cfg.l1_weight) * l1
        update(step, "g", loss_g)  # the graph was built with d frozen: no grads land on d
        return {"d": loss_d.detach(), "g_adv": adv.detach(), "l1": l1.detach()}

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: Pix2PixConfig
    ) -> dict[str, torch.Tensor]:
        """Grid columns input | output | target for the first 4 pairs."""
        x, y = self._pair(batch, config)
        return {"image": x[:4], "target": y[:4]}

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: ganedit.Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> ganedit.EvalResult:
        """PSNR / SSIM against the targets, and Fashion-MNIST figures where labels exist
        (see :mod:`ganedit_translate.evaluate`)."""
        from ganedit_translate.evaluate import evaluate_pix2pix

        return evaluate_pix2pix(editor, data, options)

    def example_data(self, folder: Path, config: Pix2PixConfig) -> dict[str, list[Path]]:
        """Four ``A|B`` side-by-side pairs of ``load_size`` px: A = edges of B (blobs)."""
        rng = np.random.default_rng(0)
        side, ch = int(config.load_size), max(int(config.in_channels), int(config.out_channels))
        yy, xx = np.mgrid[0:side, 0:side]
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            (cy, cx), r = rng.uniform(0.3, 0.7, 2) * side, rng.uniform(0.2, 0.35) * side
            b = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8) * 200 + 30
            a = np.abs(np.diff(b.astype(np.int16), axis=1, prepend=b[:, :1])).clip(0, 255)
            pair = np.concatenate([a.astype(np.uint8), b], 1)[..., None]
            ganedit.write_image(folder / f"pair{i}.png", np.repeat(pair, ch, -1))
        return {"data": [folder]}
