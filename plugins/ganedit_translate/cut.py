"""The ``cut`` model family: contrastive unpaired translation (Park et al., ECCV 2020).

CUT learns a one-way map ``G: X -> Y`` from unpaired images with an adversarial loss
(least-squares GAN against a PatchGAN) plus **PatchNCE**: a patch of the output, seen through
``G``'s own encoder, must match the patch at the same place of the input (the positive)
rather than 255 other patches of the same input (the negatives). The encoder features of
several layers are sampled (``num_patches`` places per layer, the same places for input and
output) and projected by a small MLP head per layer (``Linear, ReLU, Linear``, 256 wide, L2
normalised), then scored with an InfoNCE cross-entropy at temperature ``tau``. No pretrained
network is involved. CUT adds the same loss on ``G(y)`` against ``y`` (identity NCE,
``nce_idt``); FastCUT (``--set mode=fastcut``) drops it, raises ``nce_weight`` to 10 and
asks for flip equivariance.

ganedit packs the two directions in one weights file, as ``cyclegan`` does: a training step
updates ``a2b`` (with critic ``d_b`` and MLP head ``f_a2b``) and ``b2a`` (``d_a``, ``f_b2a``)
independently; nothing couples them. ``direction`` picks the generator that ``ganedit run`` /
``ganedit.load`` build. The generator is the CycleGAN ResNet (instance norm over the whole
image), so the family is ``Tiling.UNTILED``. ``README.md`` lists the departures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganedit
from ganedit.config import option
from ganedit.nn import ResnetGenerator, gan_loss, init_weights
from ganedit_translate.common import (
    ContentTerm,
    TrainingOptions,
    content_terms,
    update,
)
from ganedit_translate.unpaired import CRITIC_OF, UnpairedCritics, UnpairedFamily, UnpairedNets

__all__ = ["CUT", "CUTConfig", "CUTOptions", "CutGenerator", "PatchMLP", "patch_nce"]


@dataclass
class CUTOptions(UnpairedNets):
    """CUT's own options, after the shared network ones."""

    mode: Literal["cut", "fastcut"] = option(
        "cut", "cut (identity NCE, nce_weight 1) or fastcut (none; 10, flips).", train_only=True
    )
    nce_weight: float | None = option(
        None, "PatchNCE weight lambda_NCE; default 1 (cut), 10 (fastcut).", train_only=True
    )
    nce_idt: bool | None = option(
        None, "Identity NCE on G(y) vs y; default on for cut only.", train_only=True
    )
    flip_equivariance: bool | None = option(
        None,
        "Flip half the inputs, NCE on the flipped back output; default fastcut.",
        train_only=True,
    )
    nce_layers: tuple[int, ...] = option(
        (0, 4, 7, 10, 14),
        "Generator layers (indices into its Sequential) whose outputs PatchNCE compares: "
        "the padded input, the two stride-2 convs, residual blocks 1 and 5.",
        train_only=True,
    )
    num_patches: int = option(256, "Sampled places per layer.", train_only=True)
    head_width: int = option(256, "MLP projection head width.", train_only=True)
    tau: float = option(0.07, "PatchNCE temperature.", train_only=True)
    gan_weight: float = option(1.0, "Adversarial loss weight.", train_only=True)
    gan_weight_b2a: float = option(
        -1.0,
        "Adversarial loss weight of the b2a direction alone (a direction whose target "
        "differs more in shape may need more); negative = gan_weight.",
        train_only=True,
    )


@dataclass
class CUTConfig(TrainingOptions, ContentTerm, UnpairedCritics, CUTOptions):
    """CUT hyper-parameters; the defaults are the paper's (256 px RGB, ResNet-9, CUT mode).
    The fields, in ``--help`` order: :class:`CUTOptions`, the critics', the content term's
    (off by default; not in the paper), the shared training ones (dataclass fields follow the
    bases from last to first)."""


def resolved(config: CUTConfig) -> tuple[float, bool, bool]:
    """``(nce_weight, nce_idt, flip_equivariance)`` with the mode's defaults filled in."""
    fast = config.mode == "fastcut"
    w = config.nce_weight if config.nce_weight is not None else (10.0 if fast else 1.0)
    idt = config.nce_idt if config.nce_idt is not None else not fast
    flip = config.flip_equivariance if config.flip_equivariance is not None else fast
    return float(w), bool(idt), bool(flip)


def gan_weight(config: CUTConfig, generator: str) -> float:
    """The adversarial weight of ``generator`` (``"a2b"`` or ``"b2a"``): ``gan_weight``, or
    ``gan_weight_b2a`` for b2a when that is not negative."""
    w_ba = float(config.gan_weight_b2a)
    return float(config.gan_weight) if generator == "a2b" or w_ba < 0 else w_ba


# ------------------------------------------------------------------------------- networks
class CutGenerator(nn.Module):
    """A :class:`ganedit.nn.ResnetGenerator` that can also return its encoder's features.

    Input ``(N, C, H, W)`` float in ``[-1, 1]``, H and W multiples of 4. ``forward(x)`` gives
    the ``(N, C, H, W)`` output in ``[-1, 1]``; ``forward(x, layers)`` the list of the outputs
    of those layers of ``body.model`` (``(N, C_l, H_l, W_l)`` each), running only as far as
    the deepest one (the reference's ``encode_only``); ``forward(x, layers, encode_only=False)``
    the pair ``(output, features)`` from one full pass.
    """

    def __init__(self, channels: int, width: int, blocks: int) -> None:
        super().__init__()
        self.body = ResnetGenerator(channels, channels, base=width, blocks=blocks)
        self.size_multiple = self.body.size_multiple

    def forward(self, x: torch.Tensor, layers: Sequence[int] = (), encode_only: bool = True) -> Any:
        if not layers:
            return self.body(x)
        stages = self.body.model
        assert isinstance(stages, nn.Sequential)
        if max(layers) >= len(stages) or min(layers) < 0:
            raise ValueError(f"nce_layers must lie in 0..{len(stages) - 1}, got {list(layers)}")
        feats, want = [], set(layers)
        for i, layer in enumerate(stages):
            x = layer(x)
            if i in want:
                feats.append(x)
            if i == max(layers) and encode_only:
                return feats
        return x, feats

    def feature_channels(self, layers: Sequence[int]) -> list[int]:
        """Channels of each of ``layers``' outputs (probed on a small zero image)."""
        c = self.body.in_channels
        with torch.no_grad():
            probe = torch.zeros(1, c, 16, 16)
            feats = self(probe, layers)
        assert isinstance(feats, list)
        return [int(f.shape[1]) for f in feats]


class PatchMLP(nn.Module):
    """The projection head: per layer, ``Linear(C_l, w), ReLU, Linear(w, w)``, then L2 norm.

    ``forward(feats, ids)`` takes ``(N, C_l, H_l, W_l)`` features and ``(P_l,)`` int64 places
    (indices into ``H_l * W_l``, the same for every image) and returns ``(N * P_l, w)``
    unit vectors per layer.
    """

    def __init__(self, channels: Sequence[int], width: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, width), nn.ReLU(), nn.Linear(width, width)) for c in channels
        )

    def forward(
        self, feats: Sequence[torch.Tensor], ids: Sequence[torch.Tensor]
    ) -> list[torch.Tensor]:
        out = []
        for mlp, f, i in zip(self.mlps, feats, ids, strict=True):
            rows = f.flatten(2).transpose(1, 2)[:, i].flatten(0, 1)  # (N * P, C)
            out.append(F.normalize(mlp(rows), dim=1))
        return out


def patch_nce(q: torch.Tensor, k: torch.Tensor, n: int, tau: float) -> torch.Tensor:
    """PatchNCE loss of one layer: each query's positive is the key at its own place, the
    negatives the other places' keys of the same image.

    Args:
        q: ``(n * P, D)`` unit query vectors (from the output); gradients flow through them.
        k: ``(n * P, D)`` unit key vectors (from the input, the same places); detached here.
        n: images in the batch.
        tau: temperature.

    Returns:
        Scalar: the mean cross-entropy over the ``n * P`` queries.
    """
    d = q.shape[1]
    qb, kb = q.view(n, -1, d), k.detach().view(n, -1, d)
    logits = torch.bmm(qb, kb.transpose(1, 2))  # (n, P, P); the diagonal holds the positives
    p = logits.shape[1]
    pos = logits.diagonal(dim1=1, dim2=2).reshape(-1, 1)
    neg = logits.masked_fill(torch.eye(p, dtype=torch.bool, device=q.device), -10.0)
    out = torch.cat([pos, neg.reshape(-1, p)], 1) / tau
    return F.cross_entropy(out, torch.zeros(out.shape[0], dtype=torch.long, device=q.device))


def _place_ids(feats: Sequence[torch.Tensor], count: int) -> list[torch.Tensor]:
    """``count`` random places per layer (all places when fewer), from torch's global RNG
    (checkpointed by the engine, so a resumed run draws the same ones)."""
    ids = []
    for f in feats:
        hw = f.shape[2] * f.shape[3]
        ids.append(torch.randperm(hw)[: min(count, hw)].to(f.device))
    return ids


# --------------------------------------------------------------------------------- family
class CUT(UnpairedFamily[CUTConfig]):
    """CUT and FastCUT (Park, Efros, Zhang & Zhu 2020, arXiv:2007.15651)."""

    name = "cut"
    Config = CUTConfig
    summary = (
        "CUT / FastCUT (Park et al. 2020): unpaired translation that keeps the input's content "
        "(PatchNCE); --direction a2b|b2a; bundled weights turn Fashion-MNIST sneakers into "
        "ankle boots and back."
    )

    def build_generator(self, name: str, config: CUTConfig) -> nn.Module:
        """One :class:`CutGenerator` (both directions have the same shape)."""
        self.check_generator(name)
        return init_weights(
            CutGenerator(int(config.channels), int(config.width), int(config.blocks))
        )

    def build(self, config: CUTConfig) -> dict[str, nn.Module]:
        """``a2b``, ``b2a``; MLP heads ``f_a2b``, ``f_b2a``; critics ``d_a``, ``d_b``."""
        nets: dict[str, nn.Module] = {g: self.build_generator(g, config) for g in self.generators}
        layers = tuple(int(i) for i in config.nce_layers)
        for g in self.generators:
            chans = nets[g].feature_channels(layers)  # type: ignore[operator]
            nets[f"f_{g}"] = init_weights(PatchMLP(chans, int(config.head_width)))
        return {**nets, **self.build_critics(config)}

    def default_weights(self, config: CUTConfig) -> str:
        """Fashion-MNIST sneaker (A) <-> ankle boot (B), 64x64 gray (fp16 + card)."""
        return "ganedit_translate:weights/cut-fashion-sneaker-boot.safetensors"

    # ------------------------------------------------------------------------------ training
    def generator_nets(self, generator: str) -> tuple[str, ...]:
        """The generator and its MLP head ``f_<generator>``."""
        return (generator, f"f_{generator}")

    def _nce(
        self,
        g: nn.Module,
        head: nn.Module,
        k_feats: list[torch.Tensor],
        out: torch.Tensor,
        cfg: CUTConfig,
        flipped: bool,
    ) -> torch.Tensor:
        """Mean PatchNCE over the layers between the source's features ``k_feats`` (keys,
        detached) and those of ``out`` = G(source) (queries), ``(N, C, H, W)`` in ``[-1, 1]``;
        ``flipped``: ``out`` was made from the mirrored source and its features are mirrored
        back before comparing."""
        layers = tuple(int(i) for i in cfg.nce_layers)
        q_feats = g(out, layers)
        if flipped:
            q_feats = [f.flip(3) for f in q_feats]
        ids = _place_ids(k_feats, int(cfg.num_patches))
        keys, queries = head(k_feats, ids), head(q_feats, ids)
        n, tau = out.shape[0], float(cfg.tau)
        losses = [patch_nce(q, k, n, tau) for q, k in zip(queries, keys, strict=True)]
        return torch.stack(losses).mean()

    def _direction(
        self, step: ganedit.Step, g_name: str, src: torch.Tensor, tgt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One direction's generator loss, its adversarial, NCE and content parts, and the
        detached fakes for the critic. ``src``/``tgt``: ``(N, C, S, S)`` in ``[-1, 1]``."""
        cfg, n = step.config, step.nets
        g, head, critic = n[g_name], n[f"f_{g_name}"], n[CRITIC_OF[g_name]]
        weight, idt, flip_eq = resolved(cfg)
        flipped = flip_eq and bool(torch.rand(()) < 0.5)
        real = torch.cat([src, tgt]) if idt else src
        layers = tuple(int(i) for i in cfg.nce_layers)
        if flipped or weight <= 0:
            fake_all = g(real.flip(3) if flipped else real)
            with torch.no_grad():
                keys = g(real, layers) if weight > 0 else []
        else:  # the keys are the features of this very pass (instance norm: per image)
            fake_all, keys = g(real, layers, encode_only=False)
        keys = [k.detach() for k in keys]
        n_src = src.shape[0]
        fake = fake_all[:n_src]
        adv = gan_loss(str(cfg.gan_loss), critic(fake), True, False) * gan_weight(cfg, g_name)
        nce = torch.zeros((), device=src.device)
        if weight > 0:
            nce = self._nce(g, head, [k[:n_src] for k in keys], fake, cfg, flipped)
            if idt:
                k_y = [k[n_src:] for k in keys]
                nce_y = self._nce(g, head, k_y, fake_all[n_src:], cfg, flipped)
                nce = 0.5 * (nce + nce_y)
        loss = adv + weight * nce
        weighted, content = content_terms(cfg, step.state, g_name, (fake + 1) / 2, (src + 1) / 2)
        loss = loss + weighted
        return loss, adv, nce, content, fake.detach()

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One generator + head update of both directions, then one critic update.

        Args:
            step: nets ``a2b``, ``b2a``, ``f_a2b``, ``f_b2a``, ``d_a``, ``d_b``; optimisers
                ``g``, ``d``; with ``content_contrast`` > 0 the content banks
                ``content_bank_a2b``, ``content_bank_b2a`` in ``step.state``.
            batch: ``{"a", "b"}``: ``(N, channels, S, S)`` float32 in ``[0, 1]``.

        Returns:
            ``{"g_adv", "nce", "content", "d"}`` detached scalars (sums over the two
            directions; ``content`` 0 when the content term is off).
        """
        a, b = batch["a"] * 2 - 1, batch["b"] * 2 - 1
        with self.generator_pass(step):
            loss_ab, adv_ab, nce_ab, content_ab, fake_b = self._direction(step, "a2b", a, b)
            loss_ba, adv_ba, nce_ba, content_ba, fake_a = self._direction(step, "b2a", b, a)
        update(step, "g", loss_ab + loss_ba)
        loss_d = self.critic_update(step, {"a": a, "b": b}, {"a": fake_a, "b": fake_b})
        return {
            "g_adv": (adv_ab + adv_ba).detach(),
            "nce": (nce_ab + nce_ba).detach(),
            "content": (content_ab + content_ba).detach(),
            "d": loss_d,
        }
