"""The ``inpaint`` model family: LaMa-style hole filling (Suvorov et al. 2022).

A fast-Fourier-convolution generator (:class:`~ganedit_inpaint.networks.FFCGenerator`) fills
the hole of ``image * (1 - mask)`` given the mask; the result is composited, so every pixel
outside the (dilated) hole equals the input exactly. A PatchGAN discriminator learns to find
the filled region (the mask is its label map). See README.md for every departure from LaMa.

Inference options (Config fields, applied in :meth:`Inpaint.predict`): ``dilate`` grows the
hole, ``feather`` blends the fill into a ring around it, and images longer than ``max_side``
are filled crop by crop around each hole (with ``crop_margin`` of context), as IOPaint does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.config import option
from ganedit.nn import adam, frozen, init_weights, r1_penalty
from ganedit_inpaint import compose
from ganedit_inpaint.fill import fill_and_base, raw_fill
from ganedit_inpaint.losses import (
    feature_matching,
    fft_amplitude_loss,
    generator_adversarial,
    local_spectrum_loss,
    lowpass_l1,
    mask_gan_losses,
    masked_l1,
    texture_energy_loss,
)
from ganedit_inpaint.monitor import batch_monitor
from ganedit_inpaint.networks import FFCGenerator, MaskDiscriminator

__all__ = ["Inpaint", "InpaintConfig"]

Norm = Literal["batch", "instance", "none"]


@dataclass
class InpaintConfig:
    """LaMa options. Architecture defaults are LaMa's (``lama-fourier``: width 64, three
    downsamplings, nine FFC blocks, 75 % global channels, batch norm); the loss weights are
    LaMa's where the loss exists offline (README.md lists the changes)."""

    width: int = option(64, "Channels of the generator stem (LaMa: 64).")
    downsamplings: int = option(3, "Stride-2 levels of the generator (LaMa: 3).")
    blocks: int = option(9, "FFC residual blocks (LaMa: 9; big-lama: 18).")
    ratio: float = option(0.75, "Global (Fourier) share of the FFC channels (LaMa: 0.75).")
    norm: Norm = option("batch", "Norm layers (LaMa: batch).")
    prefill: Literal["zeros", "smooth"] = option(
        "zeros",
        "What the generator sees in the hole: zeros (LaMa), or a smooth fill (multigrid "
        "pull-push + Laplace sweeps) that the generator then corrects (a residual).",
    )
    smooth_iters: int = option(
        256,
        "prefill=smooth: Laplace (Jacobi) sweeps per pyramid level (256: chosen on the "
        "training photos, see README.md).",
    )
    gate: bool = option(
        False,
        "ReZero gates (0 at initialisation) on every FFC block (the bundled weights; "
        "use with norm=none), and with output_gate and prefill=smooth on the correction.",
    )
    strength: float = option(
        1.0,
        "prefill=smooth: multiply the network's correction by this at inference (1 = as "
        "trained, 0 = the pre-fill alone).",
    )
    output_gate: bool = option(
        True,
        "gate=True, prefill=smooth: multiply the correction by a learned scalar that "
        "starts at 0; False: the head starts at head_scale x its kaiming init instead "
        "(the bundled weights: a scalar gate is pinned at 0 by the L1 terms).",
    )
    head_scale: float = option(
        0.0,
        "prefill=smooth: the residual head's initial weights, as a multiple of their "
        "kaiming init; 0 = all zero (the correction starts at exactly 0, but the layers "
        "before the head then get no gradient at first).",
    )
    upsample: Literal["transposed", "resize", "shuffle"] = option(
        "transposed",
        "Decoder levels: transposed convolutions (LaMa), nearest x2 + convolution, or "
        "a pixel shuffle starting as nearest x2 (ICNR); the last two start without a "
        "checkerboard.",
    )
    hint: Literal["none", "ns", "telea"] = option(
        "none",
        "Also show the generator cv2.inpaint's fill of the hole (ns: Navier-Stokes, telea; "
        "radius 3, 8 bits), 3 more input channels: classical fills continue the edges "
        "that reach the hole's border, which a smooth pre-fill loses (none = LaMa's inputs).",
    )
    noise: float = option(
        0.0,
        "Std of a Gaussian noise channel the generator sees in the hole (0 = none, LaMa): "
        "randomness to paint texture with; at inference the noise is drawn from "
        "noise_seed, so one input always gets the same fill.",
    )
    decoder_noise: float = option(
        0.0,
        "Std of Gaussian noise added after each decoder level, relative to each "
        "feature map's RMS (0 = none, LaMa): "
        "randomness at 1/4, 1/2 and full resolution for texture; no parameters (a run "
        "may be resumed with it); at inference drawn from noise_seed.",
    )
    noise_seed: int = option(
        0, "noise or decoder_noise > 0: the seed of the noise drawn at inference."
    )
    decoder_blur: bool = option(
        False,
        "A fixed [1, 2, 1] x [1, 2, 1] low-pass after each decoder level (before its noise): "
        "removes the period-2 checkerboard of the transposed levels (the 8 px lattice); no "
        "parameters (a run may be resumed with it).",
    )
    bottleneck_blur: bool = option(
        False,
        "The same low-pass on the FFC blocks' output before the decoder: removes a "
        "period-2 pattern at the bottleneck (16 px at full size); no parameters.",
    )
    dilate: int = option(0, "Grow the hole by this many pixels before filling (0 = off).")
    feather: int = option(
        0,
        "Blend the fill into this many pixels around the hole (0 = hard edge); pixels "
        "farther away stay unchanged.",
    )
    max_side: int = option(
        2048,
        "Images longer than this are filled crop by crop around each hole, not whole "
        "(0 = always whole).",
    )
    crop_margin: int = option(128, "Context kept around each hole in crop-by-crop filling.")
    # ------------------------------------------------------------------ ganedit eval only
    eval_masks: str = option(
        "thin,medium,thick",
        "ganedit eval: mask kinds (comma-separated) or a folder of mask files.",
        eval_only=True,
    )
    eval_size: int = option(
        512, "ganedit eval: longer image side (images are downscaled).", eval_only=True
    )
    eval_sheets: str = option(
        "inpaint-eval-sheets",
        "ganedit eval: folder for the sample sheets (<kind>.png: before | mask | model | "
        "TELEA); '' = none.",
        eval_only=True,
    )
    # ------------------------------------------------------------------ training only
    batch_size: int = option(8, "Crops per step.", train_only=True)
    lr: float = option(1e-3, "Generator Adam rate (LaMa: 1e-3).", train_only=True)
    d_lr: float = option(1e-4, "Discriminator Adam rate (LaMa: 1e-4).", train_only=True)
    crop_size: int = option(256, "Training crop side (LaMa: 256).", train_only=True)
    load_size: int = option(
        0, "Resize photos once so the shorter side is this (0 = as is).", train_only=True
    )
    mask_kind: Literal["mixed", "thin", "medium", "thick", "box"] = option(
        "mixed", "Generated training masks (LaMa: mixed).", train_only=True
    )
    l1_known_weight: float = option(
        10.0, "L1 on the known pixels of the raw output (LaMa: 10).", train_only=True
    )
    l1_hole_weight: float = option(
        0.0, "Per-pixel L1 in the hole (LaMa: 0; it regresses to a blur).", train_only=True
    )
    lowpass_weight: float = option(
        10.0, "L1 of lowpass_factor-cell means in the hole (predictable part).", train_only=True
    )
    lowpass_factor: int = option(8, "Cell side of the low-pass L1 in pixels.", train_only=True)
    texture_weight: float = option(
        10.0,
        "Local gradient-energy loss at 3 scales, the offline stand-in for LaMa's "
        "perceptual loss (README.md).",
        train_only=True,
    )
    fft_weight: float = option(
        0.0, "FFT amplitude loss (an earlier stand-in for LaMa's perceptual).", train_only=True
    )
    spectrum_weight: float = option(
        0.0,
        "Local amplitude-spectrum loss in the hole (16 px windows): texture matched per "
        "frequency and orientation, not per phase; refuses periodic patterns (README.md).",
        train_only=True,
    )
    adv_weight: float = option(10.0, "Non-saturating adversarial loss (LaMa: 10).", train_only=True)
    fm_weight: float = option(100.0, "Discriminator feature matching (LaMa: 100).", train_only=True)
    r1_gamma: float = option(0.001, "R1 penalty weight (LaMa: 0.001).", train_only=True)
    r1_every: int = option(
        16, "Apply R1 every this many steps, scaled up (lazy R1).", train_only=True
    )
    d_width: int = option(64, "Discriminator first-layer width.", train_only=True)
    d_layers: int = option(3, "Discriminator stride-2 layers.", train_only=True)
    ema_decay: float = option(0.999, "Generator EMA (0 = off).", train_only=True)
    monitor_data: str = option(
        "",
        "A folder of photos for the training monitor: fixed crops and masks on which the "
        "EMA generator is compared with its pre-fill every monitor_every steps ('' = off).",
        train_only=True,
    )
    monitor_every: int = option(
        100, "Steps between two monitor rows in metrics.jsonl.", train_only=True
    )


class Inpaint(ganedit.ModelFamily[InpaintConfig]):
    """LaMa-style inpainting: image + mask (1 = fill) -> the image with the hole filled."""

    name = "inpaint"
    kind = ganedit.Kind.IMAGE_MASK
    Config = InpaintConfig
    summary = "Hole filling / object removal (LaMa-style FFC generator, Suvorov et al. 2022)."
    data_roles = ("data", "image", "mask")

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: InpaintConfig) -> ganedit.IOSpec:
        """RGB -> RGB, size multiple ``2**downsamplings``, :attr:`~ganedit.Tiling.UNTILED`
        (the Fourier branch sees the whole image; large images go crop by crop around the
        holes inside :meth:`predict`)."""
        return ganedit.IOSpec(
            3, 3, size_multiple=2 ** int(config.downsamplings), tiling=ganedit.Tiling.UNTILED
        )

    def build_generator(self, name: str, config: InpaintConfig) -> nn.Module:
        """The :class:`FFCGenerator` of ``config``."""
        g = FFCGenerator(
            int(config.width),
            int(config.downsamplings),
            int(config.blocks),
            float(config.ratio),
            str(config.norm),
            residual=config.prefill == "smooth",
            gate=bool(config.gate),
            output_gate=bool(config.output_gate),
            upsample=str(config.upsample),
            hint_channels=0 if str(config.hint) == "none" else 3,
            noise_channels=1 if float(config.noise) > 0 else 0,
            decoder_noise=float(config.decoder_noise),
            noise_seed=int(config.noise_seed),
            decoder_blur=bool(config.decoder_blur),
            bottleneck_blur=bool(config.bottleneck_blur),
        )
        init_weights(g, "kaiming")
        g.icnr_()  # the shuffle levels start as nearest x2 again
        if not g.residual or g.out_gate is not None:
            return g
        scale = float(config.head_scale)
        if scale == 0:
            return g.zero_head()
        head = g.decoder[-2]
        assert isinstance(head, nn.Conv2d)
        with torch.no_grad():
            head.weight.mul_(scale)
            if head.bias is not None:
                head.bias.zero_()
        return g

    def build(self, config: InpaintConfig) -> dict[str, nn.Module]:
        """``generator`` and the ``discriminator`` (:class:`MaskDiscriminator`)."""
        d = MaskDiscriminator(int(config.d_width), int(config.d_layers), "batch")
        return {"generator": self.build_generator("generator", config), "discriminator": d}

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: InpaintConfig
    ) -> torch.Tensor:
        """Fill the holes of a batch and composite.

        Args:
            net: the :class:`FFCGenerator`.
            inputs: ``{"image": (N, 3, H, W), "mask": (N, 1, H, W)}`` float32; image in
                [0, 1], mask in {0, 1} (1 = fill); H, W multiples of ``2**downsamplings``.
            config: ``dilate``, ``feather``, ``max_side``, ``crop_margin`` are used.

        Returns:
            ``(N, 3, H, W)`` float32 in [0, 1]: the input wherever the feathered blend
            weight is 0 (bit for bit), the network's fill inside the dilated hole, a linear
            blend in the ``feather`` ring.
        """
        x, m = inputs["image"].float(), compose.dilate(inputs["mask"].float(), config.dilate)
        multiple = 2 ** int(config.downsamplings)
        side = int(config.max_side)
        if side > 0 and max(x.shape[-2:]) > side:
            raw = compose.fill_by_crops(
                lambda xc, mc: raw_fill(net, xc, mc, config),
                x,
                m,
                margin=max(int(config.crop_margin), int(config.feather) + 1),
                multiple=multiple,
                max_side=side,
            )
        else:
            raw = raw_fill(net, x, m, config)
        return compose.composite(x, raw, m, int(config.feather))

    def default_weights(self, config: InpaintConfig) -> str:
        """Photos, LaMa-style mixed masks, the smooth pre-fill; fp16 + card (see the README)."""
        return "ganedit_inpaint:weights/inpaint.safetensors"

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: InpaintConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam for each (LaMa: default betas; G 1e-3, D 1e-4)."""
        return {
            "g": adam(nets["generator"].parameters(), float(config.lr), (0.9, 0.999)),
            "d": adam(nets["discriminator"].parameters(), float(config.d_lr), (0.9, 0.999)),
        }

    def dataset(self, data: Mapping[str, Sequence[Path]], config: InpaintConfig) -> gdata.TrainData:
        """``--data DIR``: photos with generated masks (``mask_kind``, seeded by the data
        position, so resume is exact); ``--data image=DIR --data mask=DIR``: mask files
        matched by relative path. Random ``crop_size`` crops, horizontal flips."""
        aug = gdata.JointAugment(flip=True)
        crop = int(config.crop_size)
        load = int(config.load_size) or None
        if "image" in data or "mask" in data:
            images, masks = gdata.role(data, "image"), gdata.role(data, "mask")
            return gdata.image_mask(
                images, masks, channels=3, load_size=load, crop=crop, augment=aug
            )
        return gdata.image_folder(
            gdata.role(data, "data"),
            channels=3,
            load_size=load,
            crop=crop,
            augment=aug,
            masks=gdata.MaskGenerator(str(config.mask_kind)),
        )

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One discriminator step (mask as label map, lazy R1), then one generator step
        (the weighted terms of :meth:`_g_losses`: known-pixel and hole L1, low-pass L1,
        texture energy, FFT amplitude, adversarial, feature matching), and the monitor
        columns ``mon_*`` (:func:`batch_monitor`).

        Args:
            step: the :class:`ganedit.Step` (nets ``generator``, ``discriminator``).
            batch: ``{"image": (N, 3, S, S), "mask": (N, 1, S, S)}`` float32, image in
                [0, 1], mask in {0, 1}.
        """
        cfg: InpaintConfig = step.config
        g, d, engine = step.nets["generator"], step.nets["discriminator"], step.engine
        x, m = batch["image"].float(), (batch["mask"] > 0.5).float()
        with engine.autocast():
            raw, base = fill_and_base(g, x, m, cfg)
            filled = raw * m + x * (1 - m)
        out = self._d_step(step, x, filled.detach(), m)
        with engine.autocast():
            with frozen(d):
                fake_logits, fake_feats = d(filled * 2 - 1)
            with torch.no_grad():
                _, real_feats = d(x * 2 - 1)
            losses = self._g_losses(cfg, x, m, raw, filled, fake_logits, fake_feats, real_feats)
            loss_g = torch.stack(list(losses.values())).sum()
        opt = step.opts["g"]
        opt.zero_grad(set_to_none=True)
        engine.backward(loss_g)
        engine.step(opt)
        monitor = batch_monitor(x, m, filled.detach(), base)
        return {
            **out,
            **{k: v.detach() for k, v in losses.items()},
            "g": loss_g.detach(),
            **monitor,
        }

    @staticmethod
    def _g_losses(
        cfg: InpaintConfig,
        x: torch.Tensor,
        m: torch.Tensor,
        raw: torch.Tensor,
        filled: torch.Tensor,
        fake_logits: torch.Tensor,
        fake_feats: Sequence[torch.Tensor],
        real_feats: Sequence[torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """The generator's weighted loss terms (terms with weight 0 are left out)."""
        terms = {
            "l1_known": (cfg.l1_known_weight, lambda: masked_l1(raw, x, 1 - m)),
            "l1_hole": (cfg.l1_hole_weight, lambda: masked_l1(raw, x, m)),
            "lowpass": (
                cfg.lowpass_weight,
                lambda: lowpass_l1(filled, x, m, int(cfg.lowpass_factor)),
            ),
            "texture": (cfg.texture_weight, lambda: texture_energy_loss(filled, x, m)),
            "fft": (cfg.fft_weight, lambda: fft_amplitude_loss(filled, x)),
            "spectrum": (cfg.spectrum_weight, lambda: local_spectrum_loss(filled, x, m)),
            "adv": (cfg.adv_weight, lambda: generator_adversarial(fake_logits, m)),
            "fm": (cfg.fm_weight, lambda: feature_matching(fake_feats, real_feats)),
        }
        return {k: fn() * float(w) for k, (w, fn) in terms.items() if float(w) != 0.0}

    def _d_step(
        self, step: ganedit.Step, real: torch.Tensor, filled: torch.Tensor, m: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The discriminator update; R1 on the real images every ``r1_every`` steps."""
        cfg: InpaintConfig = step.config
        d, engine = step.nets["discriminator"], step.engine
        every = max(1, int(cfg.r1_every))
        lazy_r1 = cfg.r1_gamma > 0 and step.index % every == 0
        real_in = (real * 2 - 1).requires_grad_(lazy_r1)
        with engine.autocast():
            real_logits, _ = d(real_in)
            fake_logits, _ = d(filled * 2 - 1)
            loss_d = mask_gan_losses(real_logits, fake_logits, m)
            if lazy_r1:
                r1 = r1_penalty(real_logits, real_in)
                loss_d = loss_d + cfg.r1_gamma / 2 * r1 * every
        opt = step.opts["d"]
        opt.zero_grad(set_to_none=True)
        engine.backward(loss_d)
        engine.step(opt)
        return {"d": loss_d.detach()}

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: Any
    ) -> list[torch.Tensor]:
        """masked input (hole grey) | mask | filled | original."""
        x, m = inputs["image"], inputs["mask"]
        filled = self.predict(nets["generator"], {"image": x, "mask": m}, config)
        return [x * (1 - m) + 0.5 * m, m.expand_as(x), filled, x]

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: ganedit.Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> ganedit.EvalResult:
        """``ganedit eval inpaint``: hole PSNR/SSIM, edge F1 and gradient-energy ratio of the
        model, cv2 TELEA and NS, and sample sheets (:mod:`ganedit_inpaint.evaluate`)."""
        from ganedit_inpaint.evaluate import evaluate_inpaint

        return evaluate_inpaint(editor, data, options)

    def example_data(self, folder: Path, config: InpaintConfig) -> dict[str, list[Path]]:
        """Four smooth colour-blob photos, twice the crop size (masks are generated)."""
        import numpy as np

        rng = np.random.default_rng(0)
        side = 2 * int(config.crop_size)
        for i in range(4):
            coarse = rng.random((4, 4, 3))
            img = np.kron(coarse, np.ones((side // 4 + 1, side // 4 + 1, 1)))[:side, :side]
            img = (img * 0.8 + rng.random((side, side, 3)) * 0.2) * 255
            ganedit.write_image(folder / "photos" / f"{i}.png", img.round().astype(np.uint8))
        return {"data": [folder / "photos"]}
