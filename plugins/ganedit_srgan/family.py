"""The ``srgan`` model family: SRResNet / SRGAN single-image super-resolution (x2, x4).

Two training stages, as in Ledig et al. 2017:

* ``stage="psnr"`` trains the generator alone with a pixel loss (the paper's SRResNet); this is
  what maximises PSNR/SSIM and what the bundled weights use.
* ``stage="gan"`` fine-tunes it as SRGAN: pixel + adversarial (+ VGG19 perceptual when
  ``vgg_weights`` names a local file) losses against :class:`SRGANDiscriminator`. Start it from
  psnr-stage weights (``ganedit train srgan --set stage=gan --init W``-style, see README).

Low-resolution inputs are made on the device from the HR crops
(:mod:`ganedit_srgan.degradations`), so any folder of photos is a training set.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganedit
from ganedit.config import option
from ganedit.nn import adam, frozen, gan_loss
from ganedit_srgan.degradations import bicubic_downscale, degrade, soften
from ganedit_srgan.networks import SRGANDiscriminator, SRResNet

__all__ = ["SRGAN", "SRGANConfig"]


@dataclass
class SRGANConfig:
    """SRResNet/SRGAN options. Architecture defaults are the paper's (16 blocks, 64 channels)
    except batch norm (off, after EDSR) and the bicubic skip (on); see ``networks``."""

    scale: Literal[2, 4] = option(4, "Upscaling factor of the network (2 or 4).")
    blocks: int = option(16, "Residual blocks in the generator (paper: 16).")
    channels: int = option(64, "Feature channels in the generator (paper: 64).")
    batch_norm: bool = option(
        False,
        "Batch norm in the residual blocks (paper: on; off by default, as EDSR "
        "showed BN lowers PSNR and causes artefacts in SR).",
    )
    res_scale: float = option(
        1.0, "Residual scaling per block (1.0 = paper; 0.1 for very wide nets)."
    )
    bicubic_skip: bool = option(
        True,
        "Add the bicubic-upsampled input to the output (a global residual; "
        "not in the paper, makes small-data training converge fast).",
    )
    # ------------------------------------------------------------------ training only
    stage: Literal["psnr", "gan"] = option(
        "psnr",
        "psnr = SRResNet, pixel loss only; gan = SRGAN fine-tune: pixel + "
        "adversarial (+ perceptual when vgg_weights is given).",
        train_only=True,
    )
    batch_size: int = option(16, "HR crops per training step (paper: 16).", train_only=True)
    lr: float = option(
        1e-4, "Adam learning rate, generator and discriminator (paper: 1e-4).", train_only=True
    )
    crop_size: int = option(
        96, "HR training crop side in pixels, a multiple of scale (paper: 96).", train_only=True
    )
    pixel_loss: Literal["l1", "mse"] = option(
        "l1", "Pixel loss (paper: mse; l1 trains to higher PSNR, as in EDSR).", train_only=True
    )
    pixel_weight: float = option(1.0, "Weight of the pixel loss.", train_only=True)
    adv_weight: float = option(
        1e-3, "Weight of the adversarial loss (paper: 1e-3).", train_only=True
    )
    perceptual_weight: float = option(
        0.006,
        "Weight of the VGG19 feature MSE (paper: 0.006 with features / 12.75); "
        "used only with vgg_weights.",
        train_only=True,
    )
    gan_loss: Literal["bce", "lsgan", "hinge", "wgan"] = option(
        "bce", "Adversarial loss (paper: bce, non-saturating).", train_only=True
    )
    spectral_norm: bool = option(
        False, "Spectral norm in the discriminator (replaces its batch norm).", train_only=True
    )
    d_channels: int = option(
        64, "Width of the discriminator's first conv (paper: 64).", train_only=True
    )
    vgg_weights: str | None = option(
        None,
        "Local VGG19 weights (.safetensors; convert torchvision's .pth with ganedit "
        "import vgg19.pth vgg19.safetensors --to tensors) for the perceptual loss; "
        "nothing is downloaded, without it the loss is off.",
        train_only=True,
    )
    blur_sigma: float = option(
        0.0, "Degradation: max Gaussian blur sigma before downscaling (0 = off).", train_only=True
    )
    noise_sigma: float = option(
        0.0,
        "Degradation: max Gaussian noise std on the LR image, 0-1 units (0 = off).",
        train_only=True,
    )
    jpeg_quality: int = option(
        0,
        "Degradation: lowest JPEG quality of the LR image, drawn up to 95 (0 = off).",
        train_only=True,
    )
    soften_prob: float = option(
        0.0,
        "Soft-photo augmentation: probability that an HR crop is itself blurred (target "
        "and input alike), so the model learns not to sharpen soft photos (0 = off).",
        train_only=True,
    )
    soften_sigma: float = option(
        2.0, "Soft-photo augmentation: max blur sigma in HR pixels.", train_only=True
    )
    init_weights: str | None = option(
        None,
        "Start the generator from these .safetensors weights, copying every "
        "tensor whose name and shape match (e.g. an x2 model from the x4 "
        "model's trunk, or the gan stage from psnr-stage weights).",
        train_only=True,
    )
    ema_decay: float = option(
        0.999,
        "Decay of the generator's weight EMA used for samples and export (0 = off).",
        train_only=True,
    )


# ---------------------------------------------------------------------------- perceptual loss
_VGG_MEAN = (0.485, 0.456, 0.406)
_VGG_STD = (0.229, 0.224, 0.225)


@functools.lru_cache(maxsize=2)
def _vgg_features(path: str, device: str) -> nn.Module:
    """VGG19 features up to relu5_4 (the paper's VGG54), frozen, from a LOCAL weights file.

    Built with ``torchvision.models.vgg19(weights=None)``: nothing is downloaded. Takes a
    ``.safetensors`` file of either the whole VGG19 or only its ``features``; a pickle
    (torchvision's ``vgg19-dcbb9e9d.pth``) is refused, naming the safe conversion
    ``ganedit import vgg19.pth vgg19.safetensors --to tensors``.
    """
    import torchvision

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: vgg_weights file not found")
    from ganedit.weights import load_weights

    state, _ = load_weights(p)  # refuses pickles (naming ganedit import) and NaN/Inf
    vgg = torchvision.models.vgg19(weights=None)
    if not any(k.startswith("features.") for k in state):
        state = {f"features.{k}": v for k, v in state.items()}
    missing, _ = vgg.load_state_dict(state, strict=False)
    if any(k.startswith("features.") for k in missing):
        raise ValueError(f"{p}: not VGG19 weights (missing {missing[:3]})")
    feats = vgg.features[:36].eval().to(device)
    for q in feats.parameters():
        q.requires_grad_(False)
    return feats


def _perceptual(vgg: nn.Module, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(_VGG_MEAN, device=sr.device).view(1, 3, 1, 1)
    std = torch.tensor(_VGG_STD, device=sr.device).view(1, 3, 1, 1)
    fs = vgg((sr - mean) / std)
    with torch.no_grad():
        fh = vgg((hr - mean) / std)
    return F.mse_loss(fs.float(), fh.float())


# ------------------------------------------------------------------------------------ family
def _init_from(generator: nn.Module, path: str) -> None:
    """Copy the tensors of ``path`` whose name and shape match into ``generator``.

    A missing file only warns: ``init_weights`` is a training option that a weights card
    carries along, and inference (which loads the trained weights right after) must not
    depend on the file still being there.
    """
    import warnings

    from ganedit.weights import load_weights

    if not Path(path).is_file():
        warnings.warn(f"srgan: init_weights {path} not found; starting from scratch", stacklevel=3)
        return
    state, _card = load_weights(path)
    state = {k.removeprefix("generator."): v for k, v in state.items()}
    own = generator.state_dict()
    take = {k: v.to(own[k].dtype) for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not take:
        raise ValueError(f"{path}: no tensor matches the srgan generator (wrong family?)")
    generator.load_state_dict(take, strict=False)


def _checked_scale(config: SRGANConfig) -> int:
    scale = int(config.scale)
    if scale not in (2, 4):
        raise ganedit.ConfigError(f"srgan: scale must be 2 or 4, got {config.scale}")
    return scale


def _hr_batch(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The HR crops of a dataset batch: ``batch["image"]`` ``(N, 3, H, W)`` float in [0, 1]."""
    return batch["image"].float()


class SRGAN(ganedit.ModelFamily):
    """SRResNet/SRGAN super-resolution (Ledig et al. 2017), x2 or x4."""

    name = "srgan"
    kind = ganedit.Kind.IMAGE
    Config = SRGANConfig
    summary = "Super-resolution x2/x4 (SRResNet/SRGAN, Ledig et al. 2017)."

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: SRGANConfig) -> ganedit.IOSpec:
        """RGB -> RGB, ``config.scale`` times larger, any size.

        Tiling: the generator is fully convolutional, but its receptive radius (about 38
        input pixels through 16 blocks) would need 152 px of overlap for bit-exact tiles, so
        it declares :meth:`~ganedit.Tiling.needs_context` with 32 px: tiles are crossfaded,
        and the difference to an untiled run is far below one 8-bit level (tested).
        """
        return ganedit.IOSpec(
            in_channels=3,
            out_channels=3,
            scale=_checked_scale(config),
            size_multiple=1,
            tiling=ganedit.Tiling.needs_context(32),
        )

    def build(self, config: SRGANConfig) -> dict[str, nn.Module]:
        """``generator`` always; ``discriminator`` only for ``stage="gan"``."""
        nets: dict[str, nn.Module] = {"generator": self.build_generator("generator", config)}
        if config.stage == "gan":
            nets["discriminator"] = SRGANDiscriminator(
                3, int(config.d_channels), spectral_norm=bool(config.spectral_norm)
            )
        return nets

    def build_generator(self, name: str, config: SRGANConfig) -> nn.Module:
        """The :class:`SRResNet` (``init_weights`` copied in when given)."""
        g = SRResNet(
            _checked_scale(config),
            int(config.blocks),
            int(config.channels),
            bn=bool(config.batch_norm),
            res_scale=float(config.res_scale),
            bicubic_skip=bool(config.bicubic_skip),
        )
        if config.init_weights:
            _init_from(g, str(config.init_weights))
        return g

    def inference_net(self, net: nn.Module, config: SRGANConfig) -> nn.Module:
        """:class:`~ganedit_srgan.inference.SRResNetInference`: the same function with the
        full-resolution end rewritten to run at a quarter of the pixels (1.2x faster per
        256x256 input on the 2-core CPU; see that module)."""
        from ganedit_srgan.inference import SRResNetInference

        return SRResNetInference(net) if isinstance(net, SRResNet) else net

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: SRGANConfig
    ) -> torch.Tensor:
        """Upscale a batch.

        Args:
            net: the :class:`SRResNet` from :meth:`build` (or its inference form).
            inputs: ``{"image": (N, 3, H, W)}`` float in [0, 1].
            config: the Config (its ``scale`` is built into ``net``).

        Returns:
            ``(N, 3, H * scale, W * scale)`` float in [0, 1] (the generator's output, clamped).
            A different final size (``ganedit run srgan IN OUT --outscale 3.5``) is the core's
            ``outscale`` option, applied after this.
        """
        return net(inputs["image"]).clamp(0, 1)

    def default_weights(self, config: Any) -> str | None:
        """``ganedit_srgan:weights/srgan-x4.safetensors`` (or ``-x2``) by ``config.scale``."""
        return f"ganedit_srgan:weights/srgan-x{int(getattr(config, 'scale', 4))}.safetensors"

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: SRGANConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam (beta1 0.9, as in the paper) for the generator, and the discriminator if any."""
        opts: dict[str, torch.optim.Optimizer] = {
            "generator": adam(nets["generator"].parameters(), float(config.lr), (0.9, 0.999))
        }
        if "discriminator" in nets:
            opts["discriminator"] = adam(
                nets["discriminator"].parameters(), float(config.lr), (0.9, 0.999)
            )
        return opts

    def dataset(
        self, data: Mapping[str, Sequence[Path]], config: SRGANConfig
    ) -> ganedit.data.TrainData:
        """Random ``crop_size`` HR crops (with flips) from every photo under ``data["data"]``
        (``--data DIR``)."""
        from ganedit import data as datasets

        crop = int(config.crop_size)
        if crop % int(config.scale):
            raise ganedit.ConfigError(
                f"srgan: crop_size {crop} must be a multiple of scale {config.scale}"
            )
        if not 0 <= float(config.soften_prob) <= 1:
            raise ganedit.ConfigError(
                f"srgan: soften_prob must be in [0, 1], got {config.soften_prob}"
            )
        return datasets.image_folder(
            data["data"], channels=3, crop=crop, augment=datasets.JointAugment(flip=True)
        )

    def _lr(self, hr: torch.Tensor, config: SRGANConfig) -> torch.Tensor:
        return degrade(
            hr,
            int(config.scale),
            blur_sigma=float(config.blur_sigma),
            noise_sigma=float(config.noise_sigma),
            jpeg_quality=int(config.jpeg_quality),
        )

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """psnr stage: one generator step on the pixel loss. gan stage: one discriminator step
        (real HR vs SR) then one generator step on pixel + adversarial (+ perceptual).

        Args:
            step: the :class:`ganedit.Step` (nets ``generator`` [+ ``discriminator``]).
            batch: ``{"image": (N, 3, crop, crop)}`` float32 HR crops in [0, 1].
        """
        config: SRGANConfig = step.config
        nets, opts, engine = step.nets, step.opts, step.engine
        hr = soften(_hr_batch(batch), float(config.soften_prob), float(config.soften_sigma))
        lr = self._lr(hr, config)
        g = nets["generator"]
        pixel = F.l1_loss if config.pixel_loss == "l1" else F.mse_loss
        out: dict[str, torch.Tensor] = {}

        if config.stage == "gan":
            d = nets["discriminator"]
            with torch.no_grad(), engine.autocast():
                fake = g(lr)
            opt_d = opts["discriminator"]
            opt_d.zero_grad(set_to_none=True)
            with engine.autocast():
                loss_d = gan_loss(config.gan_loss, d(hr), True) + gan_loss(
                    config.gan_loss, d(fake.detach().clamp(0, 1)), False
                )
            engine.backward(loss_d)
            engine.step(opt_d)
            out["d"] = loss_d.detach()

        opt_g = opts["generator"]
        opt_g.zero_grad(set_to_none=True)
        with engine.autocast():
            sr = g(lr)
            loss_pix = pixel(sr.float(), hr)
            loss_g = float(config.pixel_weight) * loss_pix
            if config.stage == "gan":
                d = nets["discriminator"]
                with frozen(d):
                    loss_adv = gan_loss(config.gan_loss, d(sr), True, for_discriminator=False)
                loss_g = loss_g + float(config.adv_weight) * loss_adv
                out["adv"] = loss_adv.detach()
                if config.vgg_weights:
                    vgg = _vgg_features(str(config.vgg_weights), str(sr.device))
                    loss_vgg = _perceptual(vgg, sr, hr)
                    loss_g = loss_g + float(config.perceptual_weight) * loss_vgg
                    out["vgg"] = loss_vgg.detach()
        engine.backward(loss_g)
        engine.step(opt_g)
        out["pixel"] = loss_pix.detach()
        out["g"] = loss_g.detach()
        return out

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: SRGANConfig
    ) -> dict[str, torch.Tensor]:
        """Bicubic LR versions of (up to 4 of) the batch's HR crops at ``config.scale``, and
        the HR crops as ``"target"``, so the sample grid shows LR | SR | HR."""
        hr = _hr_batch(batch)[:4]
        return {"image": bicubic_downscale(hr, _checked_scale(config)), "target": hr}

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: ganedit.Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> ganedit.EvalResult:
        """PSNR/SSIM on the Y channel against bicubic on ``data["data"]`` (HR photos); see
        :mod:`ganedit_srgan.evaluate`."""
        from ganedit_srgan.evaluate import evaluate_sr

        return evaluate_sr(editor, list(data.get("data", [])), options)

    def example_data(self, folder: Path, config: SRGANConfig) -> dict[str, list[Path]]:
        """Two smooth synthetic photos of 2 * crop_size px (for the conformance kit)."""
        import numpy as np

        side = 2 * int(config.crop_size)
        folder.mkdir(parents=True, exist_ok=True)
        yy, xx = np.mgrid[0:side, 0:side] / side
        for i in range(2):
            rgb = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), xx * yy], -1)
            ganedit.write_image(folder / f"photo{i}.png", ((rgb * 0.5 + 0.5) * 255).astype("uint8"))
        return {"data": [folder]}
