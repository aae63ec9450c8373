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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.nn import PatchDiscriminator, ResnetGenerator, adam, frozen, gan_loss, init_weights

__all__ = ["CUT", "CUTConfig", "CutGenerator", "PatchMLP", "patch_nce"]

GENERATORS = ("a2b", "b2a")
_CRITIC = {"a2b": "d_b", "b2a": "d_a"}  # a2b's outputs are judged against domain b


def _opt(text: str, train: bool = False) -> dict[str, Any]:
    return {"help": text, "train_only": True} if train else {"help": text}


@dataclass
class CUTConfig:
    """CUT hyper-parameters; the defaults are the paper's (256 px RGB, ResNet-9, CUT mode)."""

    direction: Literal["a2b", "b2a"] = field(
        default="a2b", metadata=_opt("Generator to run: a2b (A -> B) or b2a (B -> A).")
    )
    channels: Literal[1, 3] = field(default=3, metadata=_opt("Image channels (1 gray, 3 RGB)."))
    width: int = field(default=64, metadata=_opt("Channels of the generators' first layer."))
    blocks: int = field(default=9, metadata=_opt("Residual blocks per generator."))
    mode: Literal["cut", "fastcut"] = field(
        default="cut",
        metadata=_opt("cut (identity NCE, nce_weight 1) or fastcut (none; 10, flips).", True),
    )
    nce_weight: float | None = field(
        default=None,
        metadata=_opt("PatchNCE weight lambda_NCE; default 1 (cut), 10 (fastcut).", True),
    )
    nce_idt: bool | None = field(
        default=None, metadata=_opt("Identity NCE on G(y) vs y; default on for cut only.", True)
    )
    flip_equivariance: bool | None = field(
        default=None,
        metadata=_opt(
            "Flip half the inputs, NCE on the flipped back output; default fastcut.", True
        ),
    )
    nce_layers: tuple[int, ...] = field(
        default=(0, 4, 7, 10, 14),
        metadata=_opt(
            "Generator layers (indices into its Sequential) whose outputs PatchNCE compares: "
            "the padded input, the two stride-2 convs, residual blocks 1 and 5.",
            True,
        ),
    )
    num_patches: int = field(default=256, metadata=_opt("Sampled places per layer.", True))
    head_width: int = field(default=256, metadata=_opt("MLP projection head width.", True))
    tau: float = field(default=0.07, metadata=_opt("PatchNCE temperature.", True))
    gan_weight: float = field(default=1.0, metadata=_opt("Adversarial loss weight.", True))
    ndf: int = field(default=64, metadata=_opt("Discriminator width.", True))
    d_layers: int = field(
        default=3, metadata=_opt("Discriminator stride-2 layers (3 = 70x70 patches).", True)
    )
    gan_loss: Literal["lsgan", "bce", "hinge"] = field(
        default="lsgan", metadata=_opt("Adversarial loss (the paper: lsgan).", True)
    )
    lr: float = field(default=2e-4, metadata=_opt("Adam learning rate of all nets.", True))
    betas: tuple[float, float] = field(default=(0.5, 0.999), metadata=_opt("Adam betas.", True))
    batch_size: int = field(default=1, metadata=_opt("Images per domain and step.", True))
    load_size: int = field(
        default=286, metadata=_opt("Jitter: resize images to this side first.", True)
    )
    crop_size: int = field(
        default=256, metadata=_opt("Jitter: then a random crop of this side.", True)
    )
    flip: bool = field(default=True, metadata=_opt("Random horizontal mirror.", True))
    ema_decay: float = field(default=0.0, metadata=_opt("Generator EMA (0 = off).", True))


def resolved(config: CUTConfig) -> tuple[float, bool, bool]:
    """``(nce_weight, nce_idt, flip_equivariance)`` with the mode's defaults filled in."""
    fast = config.mode == "fastcut"
    w = config.nce_weight if config.nce_weight is not None else (10.0 if fast else 1.0)
    idt = config.nce_idt if config.nce_idt is not None else not fast
    flip = config.flip_equivariance if config.flip_equivariance is not None else fast
    return float(w), bool(idt), bool(flip)


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
class CUT(ganedit.ModelFamily[CUTConfig]):
    """CUT and FastCUT (Park, Efros, Zhang & Zhu 2020, arXiv:2007.15651)."""

    name = "cut"
    kind = ganedit.Kind.IMAGE
    Config = CUTConfig
    summary = (
        "CUT / FastCUT (Park et al. 2020): unpaired translation that keeps the input's content "
        "(PatchNCE); --direction a2b|b2a; no bundled weights yet (train your own)."
    )
    generators = GENERATORS
    data_roles = ("data", "a", "b")

    def io(self, config: CUTConfig) -> ganedit.IOSpec:
        """``channels`` -> ``channels``, size multiple 4; UNTILED (instance norm)."""
        ch = int(config.channels)
        return ganedit.IOSpec(ch, ch, size_multiple=4, tiling=ganedit.Tiling.UNTILED)

    def generator_for(self, config: CUTConfig) -> str:
        """``config.direction``."""
        if config.direction not in GENERATORS:
            raise ValueError(f"cut: direction must be a2b or b2a, got {config.direction!r}")
        return str(config.direction)

    def build_generator(self, name: str, config: CUTConfig) -> nn.Module:
        """One :class:`CutGenerator` (both directions have the same shape)."""
        if name not in GENERATORS:
            raise KeyError(f"cut has generators a2b and b2a, not {name!r}")
        return init_weights(
            CutGenerator(int(config.channels), int(config.width), int(config.blocks))
        )

    def build(self, config: CUTConfig) -> dict[str, nn.Module]:
        """``a2b``, ``b2a``; critics ``d_a``, ``d_b``; MLP heads ``f_a2b``, ``f_b2a``."""
        nets: dict[str, nn.Module] = {g: self.build_generator(g, config) for g in GENERATORS}
        layers = tuple(int(i) for i in config.nce_layers)
        for g in GENERATORS:
            chans = nets[g].feature_channels(layers)  # type: ignore[operator]
            nets[f"f_{g}"] = init_weights(PatchMLP(chans, int(config.head_width)))
        for d in ("d_a", "d_b"):
            net = PatchDiscriminator(
                int(config.channels), int(config.ndf), int(config.d_layers), norm="instance"
            )
            nets[d] = init_weights(net)
        return nets

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: CUTConfig
    ) -> torch.Tensor:
        """Translate a batch.

        Args:
            net: the ``a2b`` or ``b2a`` generator.
            inputs: ``{"image": (N, channels, H, W)}`` float32 in ``[0, 1]``, H and W
                multiples of 4.
            config: the Config.

        Returns:
            ``(N, channels, H, W)`` float in ``[0, 1]``.
        """
        return (net(inputs["image"] * 2 - 1) + 1) / 2

    def default_weights(self, config: CUTConfig) -> None:
        """None: no bundled weights yet (the CPU-trained sneaker <-> boot run reached the
        target class but not the content bar; README.md gives its figures)."""
        return None

    # ------------------------------------------------------------------------------ training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: CUTConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam ``"g"`` over both generators and both MLP heads, ``"d"`` over both critics."""
        betas = (float(config.betas[0]), float(config.betas[1]))
        gens = [p for g in GENERATORS for k in (g, f"f_{g}") for p in nets[k].parameters()]
        critics = [p for d in ("d_a", "d_b") for p in nets[d].parameters()]
        return {
            "g": adam(gens, float(config.lr), betas),
            "d": adam(critics, float(config.lr), betas),
        }

    def dataset(self, data: Mapping[str, Sequence[Path]], config: CUTConfig) -> Any:
        """Unpaired ``batch["a"]`` and ``batch["b"]`` (as ``cyclegan``): ``--data a=DIR
        --data b=DIR`` or one ``--data DIR`` holding ``trainA/`` and ``trainB/``.

        Raises:
            DatasetError: a missing or empty domain (named), a crop that is not a multiple of 4.
        """
        from ganedit_translate.cyclegan import _check_domain, _domains

        roles = _domains(data, family="cut")
        load, crop = int(config.load_size), int(config.crop_size)
        if crop % 4 or load < crop:
            raise gdata.DatasetError(
                f"cut: crop_size {crop} must be a multiple of 4 and <= load_size {load}"
            )
        for name, paths in roles.items():
            _check_domain(name, paths, family="cut")
        return gdata.unpaired(
            roles["a"],
            roles["b"],
            channels=int(config.channels),
            augment=gdata.JointAugment(flip=bool(config.flip), jitter=(load, crop)),
        )

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
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One direction's generator loss, its adversarial and NCE parts, and the detached
        fakes for the critic. ``src``/``tgt``: ``(N, C, S, S)`` in ``[-1, 1]``."""
        cfg, n = step.config, step.nets
        g, head, critic = n[g_name], n[f"f_{g_name}"], n[_CRITIC[g_name]]
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
        adv = gan_loss(str(cfg.gan_loss), critic(fake), True, False) * float(cfg.gan_weight)
        nce = torch.zeros((), device=src.device)
        if weight > 0:
            nce = self._nce(g, head, [k[:n_src] for k in keys], fake, cfg, flipped)
            if idt:
                k_y = [k[n_src:] for k in keys]
                nce_y = self._nce(g, head, k_y, fake_all[n_src:], cfg, flipped)
                nce = 0.5 * (nce + nce_y)
        return adv + weight * nce, adv, nce, fake.detach()

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One generator + head update of both directions, then one critic update.

        Args:
            step: nets ``a2b``, ``b2a``, ``f_a2b``, ``f_b2a``, ``d_a``, ``d_b``; optimisers
                ``g``, ``d``.
            batch: ``{"a", "b"}``: ``(N, channels, S, S)`` float32 in ``[0, 1]``.

        Returns:
            ``{"g_adv", "nce", "d"}`` detached scalars (sums over the two directions).
        """
        n, cfg, engine = step.nets, step.config, step.engine
        a, b, kind = batch["a"] * 2 - 1, batch["b"] * 2 - 1, str(cfg.gan_loss)
        with engine.autocast(), frozen(n["d_a"], n["d_b"]):
            loss_ab, adv_ab, nce_ab, fake_b = self._direction(step, "a2b", a, b)
            loss_ba, adv_ba, nce_ba, fake_a = self._direction(step, "b2a", b, a)
        step.opts["g"].zero_grad(set_to_none=True)
        engine.backward(loss_ab + loss_ba)
        engine.step(step.opts["g"])
        with engine.autocast():
            loss_d = 0.5 * (
                gan_loss(kind, n["d_b"](b), True) + gan_loss(kind, n["d_b"](fake_b), False)
            ) + 0.5 * (gan_loss(kind, n["d_a"](a), True) + gan_loss(kind, n["d_a"](fake_a), False))
        step.opts["d"].zero_grad(set_to_none=True)
        engine.backward(loss_d)
        engine.step(step.opts["d"])
        return {
            "g_adv": (adv_ab + adv_ba).detach(),
            "nce": (nce_ab + nce_ba).detach(),
            "d": loss_d.detach(),
        }

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: CUTConfig
    ) -> dict[str, torch.Tensor]:
        """The first 4 images of each domain."""
        return {"image": batch["a"][:4], "b": batch["b"][:4]}

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: Any
    ) -> list[torch.Tensor]:
        """``a | a2b(a) | b | b2a(b)``, each ``(N, C, H, W)`` in ``[0, 1]``."""
        a, b = inputs["image"], inputs["b"]
        fake_b = self.predict(nets["a2b"], {"image": a}, config)
        fake_a = self.predict(nets["b2a"], {"image": b}, config)
        return [a, fake_b, b, fake_a]

    # ---------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: Any, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> dict:
        """Per direction: target-class share, content score, cycle PSNR (informative: CUT
        has no cycle loss) and Fréchet distance (see :mod:`ganedit_translate.evaluate`);
        default data: ``testA/`` and ``testB/`` of ``data/fashion-cycle``."""
        from ganedit_translate.cyclegan import _domains
        from ganedit_translate.evaluate import DEFAULT_CYCLE_DATA, evaluate_cyclegan

        given = {k: v for k, v in data.items() if v} or {"data": [DEFAULT_CYCLE_DATA]}
        return evaluate_cyclegan(editor, _domains(given, test=True, family="cut"), options)

    def example_data(self, folder: Path, config: CUTConfig) -> dict[str, list[Path]]:
        """Domain A: 3 dark discs; domain B: 5 bright squares; ``load_size`` px (as cyclegan)."""
        from ganedit_translate.cyclegan import CycleGAN, CycleGANConfig

        cyc = CycleGANConfig(channels=config.channels, load_size=config.load_size)
        return CycleGAN().example_data(folder, cyc)
