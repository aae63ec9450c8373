"""The ``cyclegan`` model family: unpaired two-way translation (Zhu et al. 2017).

Two ResNet generators (``ganedit.nn.ResnetGenerator``, instance norm, reflection padding),
``a2b`` and ``b2a``, and two PatchGAN discriminators ``d_a`` and ``d_b`` trained with the
least-squares GAN loss, a cycle-consistency loss (``cycle_weight`` per direction), an
identity loss (``identity`` times ``cycle_weight``) and, off by default (not in the paper),
the content terms (``content_weight`` times the L1 distance between the blurred input and
output; ``content_contrast``: the output nearer its own input than other inputs). Each discriminator sees fakes drawn from a history pool of ``pool_size`` images;
both pools live in the family's training state, so they are checkpointed and a resumed run
is exact. The Config's defaults are the paper's;
``README.md`` lists every departure and the settings of the bundled sneaker <-> boot weights.

``direction`` picks the generator that ``ganedit run`` / ``ganedit.load`` build (only that
one is built and loaded). Instance norm takes statistics over the whole image, so the family
is ``Tiling.UNTILED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

import ganedit
from ganedit.config import option
from ganedit.nn import ImagePool, ResnetGenerator, gan_loss, init_weights
from ganedit_translate.common import (
    ContentTerm,
    TrainingOptions,
    content_terms,
    update,
)
from ganedit_translate.unpaired import UnpairedCritics, UnpairedFamily, UnpairedNets

__all__ = ["CycleGAN", "CycleGANConfig", "CycleGANLosses", "CycleGANNets"]


@dataclass
class CycleGANNets(UnpairedNets):
    """The shared network options, then the padding of the generators' downsampling."""

    down_padding: Literal["reflect", "zeros"] = option(
        "reflect",
        "Padding of the generators' two stride-2 convs; zeros = the reference code "
        "(set by ganedit import for its models).",
    )


@dataclass
class CycleGANLosses:
    """CycleGAN's loss weights and its critics' history pool (the content term:
    :class:`~ganedit_translate.common.ContentTerm`)."""

    cycle_weight: float = option(10.0, "Cycle-consistency weight per direction.", train_only=True)
    identity: float = option(
        0.5, "Identity-loss weight, times cycle_weight; 0 = off.", train_only=True
    )
    pool_size: int = option(50, "Old fakes kept per discriminator.", train_only=True)


@dataclass
class CycleGANConfig(TrainingOptions, ContentTerm, CycleGANLosses, UnpairedCritics, CycleGANNets):
    """CycleGAN hyper-parameters; the defaults are the paper's (256 px RGB, ResNet-9). The
    fields, in ``--help`` order: :class:`CycleGANNets`, the critics', :class:`CycleGANLosses`,
    the content term's, the shared training ones (dataclass fields follow the bases from
    last to first)."""


class CycleGAN(UnpairedFamily[CycleGANConfig]):
    """CycleGAN (Zhu, Park, Isola & Efros 2017, arXiv:1703.10593)."""

    name = "cyclegan"
    Config = CycleGANConfig
    summary = (
        "CycleGAN (Zhu et al. 2017): unpaired two-way translation (--direction a2b|b2a); "
        "bundled weights turn Fashion-MNIST sneakers into ankle boots and back."
    )
    cycle_columns = True

    # ----------------------------------------------------------------- networks and inference
    def build_generator(self, name: str, config: CycleGANConfig) -> nn.Module:
        """One ResNet generator (both directions have the same shape)."""
        self.check_generator(name)
        ch = int(config.channels)
        net = ResnetGenerator(
            ch,
            ch,
            base=int(config.width),
            blocks=int(config.blocks),
            down_padding=str(config.down_padding),
        )
        return init_weights(net)

    def build(self, config: CycleGANConfig) -> dict[str, nn.Module]:
        """``a2b``, ``b2a`` and the discriminators ``d_a`` (judges A), ``d_b`` (judges B)."""
        nets = {g: self.build_generator(g, config) for g in self.generators}
        return {**nets, **self.build_critics(config)}

    def default_weights(self, config: CycleGANConfig) -> str:
        """Fashion-MNIST sneaker (A) <-> ankle boot (B), 64x64 gray (fp16 + card)."""
        return "ganedit_translate:weights/cyclegan-fashion-sneaker-boot.safetensors"

    # ------------------------------------------------------------------------------- training
    def training_state(self, config: CycleGANConfig) -> dict[str, torch.Tensor]:
        """The two image pools (fakes in ``[0, 1]``), empty: ``(0, channels, crop, crop)``."""
        c, s = int(config.channels), int(config.crop_size)
        return {"pool_a": torch.zeros((0, c, s, s)), "pool_b": torch.zeros((0, c, s, s))}

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One generator update (both directions), then one update of both discriminators
        on real images and pooled fakes.

        Args:
            step: nets ``a2b``, ``b2a``, ``d_a``, ``d_b``; optimisers ``g``, ``d``; the
                pools ``pool_a``, ``pool_b`` (and, with ``content_contrast`` > 0, the
                content banks ``content_bank_a2b``, ``content_bank_b2a``) in ``step.state``.
            batch: ``{"a", "b"}``: ``(N, channels, S, S)`` float32 in ``[0, 1]``.

        Returns:
            ``{"g_adv", "cycle", "identity", "content", "d"}`` detached scalars.
        """
        n, cfg = step.nets, step.config
        a, b, kind = batch["a"], batch["b"], str(cfg.gan_loss)

        def gen(name: str, x: torch.Tensor) -> torch.Tensor:
            return self.predict(n[name], {"image": x}, cfg)

        with self.generator_pass(step):
            fake_b, fake_a = gen("a2b", a), gen("b2a", b)
            cycle = (gen("b2a", fake_b) - a).abs().mean() + (gen("a2b", fake_a) - b).abs().mean()
            idt = torch.zeros((), device=a.device)
            if float(cfg.identity) > 0:
                idt = (gen("a2b", b) - b).abs().mean() + (gen("b2a", a) - a).abs().mean()
            adv = gan_loss(kind, n["d_b"](fake_b * 2 - 1), True, False) + gan_loss(
                kind, n["d_a"](fake_a * 2 - 1), True, False
            )
            w = float(cfg.cycle_weight)
            loss_g = adv + w * cycle + w * float(cfg.identity) * idt
            weighted_ab, c_ab = content_terms(cfg, step.state, "a2b", fake_b, a)
            weighted_ba, c_ba = content_terms(cfg, step.state, "b2a", fake_a, b)
            content = c_ab + c_ba
            loss_g = loss_g + weighted_ab + weighted_ba
        update(step, "g", loss_g)  # built with the critics frozen: no grads land on them
        pool = ImagePool(int(cfg.pool_size))
        old_b = pool.query(step.state, "pool_b", fake_b.detach().float())
        old_a = pool.query(step.state, "pool_a", fake_a.detach().float())
        real = {"a": a * 2 - 1, "b": b * 2 - 1}
        loss_d = self.critic_update(step, real, {"a": old_a * 2 - 1, "b": old_b * 2 - 1})
        return {
            "g_adv": adv.detach(),
            "cycle": cycle.detach(),
            "identity": idt.detach(),
            "content": content.detach(),
            "d": loss_d,
        }
