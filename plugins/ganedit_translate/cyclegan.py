"""The ``cyclegan`` model family: unpaired two-way translation (Zhu et al. 2017).

Two ResNet generators (``ganedit.nn.ResnetGenerator``, instance norm, reflection padding),
``a2b`` and ``b2a``, and two PatchGAN discriminators ``d_a`` and ``d_b`` trained with the
least-squares GAN loss, a cycle-consistency loss (``cycle_weight`` per direction), an
identity loss (``identity`` times ``cycle_weight``) and, off by default (not in the paper),
a content term (``content_weight`` times the L1 distance between the blurred input and
output). Each discriminator sees fakes drawn from a history pool of ``pool_size`` images;
both pools live in the family's training state, so they are checkpointed and a resumed run
is exact. The Config's defaults are the paper's;
``README.md`` lists every departure and the settings of the bundled sneaker <-> boot weights.

``direction`` picks the generator that ``ganedit run`` / ``ganedit.load`` build (only that
one is built and loaded). Instance norm takes statistics over the whole image, so the family
is ``Tiling.UNTILED``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from kornia.filters import gaussian_blur2d
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.io import walk_inputs
from ganedit.nn import (
    ImagePool,
    PatchDiscriminator,
    ResnetGenerator,
    adam,
    frozen,
    gan_loss,
    init_weights,
)

__all__ = ["CycleGAN", "CycleGANConfig"]

GENERATORS = ("a2b", "b2a")


def _opt(text: str, train: bool = False) -> dict[str, Any]:
    return {"help": text, "train_only": True} if train else {"help": text}


@dataclass
class CycleGANConfig:
    """CycleGAN hyper-parameters; the defaults are the paper's (256 px RGB, ResNet-9)."""

    direction: Literal["a2b", "b2a"] = field(
        default="a2b", metadata=_opt("Generator to run: a2b (A -> B) or b2a (B -> A).")
    )
    channels: Literal[1, 3] = field(default=3, metadata=_opt("Image channels (1 gray, 3 RGB)."))
    width: int = field(default=64, metadata=_opt("Channels of the generators' first layer."))
    blocks: int = field(default=9, metadata=_opt("Residual blocks per generator."))
    down_padding: Literal["reflect", "zeros"] = field(
        default="reflect",
        metadata=_opt(
            "Padding of the generators' two stride-2 convs; zeros = the reference code "
            "(set by ganedit import for its models)."
        ),
    )
    ndf: int = field(default=64, metadata=_opt("Discriminator width.", True))
    d_layers: int = field(
        default=3, metadata=_opt("Discriminator stride-2 layers (3 = 70x70 patches).", True)
    )
    gan_loss: Literal["lsgan", "bce", "hinge"] = field(
        default="lsgan", metadata=_opt("Adversarial loss (the paper: lsgan).", True)
    )
    cycle_weight: float = field(
        default=10.0, metadata=_opt("Cycle-consistency weight per direction.", True)
    )
    identity: float = field(
        default=0.5, metadata=_opt("Identity-loss weight, times cycle_weight; 0 = off.", True)
    )
    content_weight: float = field(
        default=0.0,
        metadata=_opt(
            "Content term: L1 between the Gaussian-blurred input and output, per direction; "
            "0 = off (the paper).",
            True,
        ),
    )
    content_sigma: float = field(
        default=2.0, metadata=_opt("Blur (Gaussian sigma, px) of the content term.", True)
    )
    pool_size: int = field(default=50, metadata=_opt("Old fakes kept per discriminator.", True))
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


class CycleGAN(ganedit.ModelFamily[CycleGANConfig]):
    """CycleGAN (Zhu, Park, Isola & Efros 2017, arXiv:1703.10593)."""

    name = "cyclegan"
    kind = ganedit.Kind.IMAGE
    Config = CycleGANConfig
    summary = (
        "CycleGAN (Zhu et al. 2017): unpaired two-way translation (--direction a2b|b2a); "
        "bundled weights turn Fashion-MNIST sneakers into ankle boots and back."
    )
    generators = GENERATORS
    data_roles = ("data", "a", "b")

    # ----------------------------------------------------------------- networks and inference
    def io(self, config: CycleGANConfig) -> ganedit.IOSpec:
        """``channels`` -> ``channels``, size multiple 4 (two stride-2 convs); UNTILED
        (instance norm normalises over the whole image)."""
        ch = int(config.channels)
        return ganedit.IOSpec(ch, ch, size_multiple=4, tiling=ganedit.Tiling.UNTILED)

    def generator_for(self, config: CycleGANConfig) -> str:
        """``config.direction``."""
        if config.direction not in GENERATORS:
            raise ValueError(f"cyclegan: direction must be a2b or b2a, got {config.direction!r}")
        return str(config.direction)

    def build_generator(self, name: str, config: CycleGANConfig) -> nn.Module:
        """One ResNet generator (both directions have the same shape)."""
        if name not in GENERATORS:
            raise KeyError(f"cyclegan has generators a2b and b2a, not {name!r}")
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
        nets = {g: self.build_generator(g, config) for g in GENERATORS}
        for d in ("d_a", "d_b"):
            net = PatchDiscriminator(
                int(config.channels), int(config.ndf), int(config.d_layers), norm="instance"
            )
            nets[d] = init_weights(net)
        return nets

    def predict(
        self, net: nn.Module, inputs: Mapping[str, torch.Tensor], config: CycleGANConfig
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

    def default_weights(self, config: CycleGANConfig) -> str:
        """Fashion-MNIST sneaker (A) <-> ankle boot (B), 64x64 gray (fp16 + card)."""
        return "ganedit_assets:weights/cyclegan-fashion-sneaker-boot.safetensors"

    # ------------------------------------------------------------------------------- training
    def optimizers(
        self, nets: Mapping[str, nn.Module], config: CycleGANConfig
    ) -> dict[str, torch.optim.Optimizer]:
        """One Adam over both generators (``"g"``), one over both discriminators (``"d"``)."""
        betas = (float(config.betas[0]), float(config.betas[1]))
        gens = [p for g in GENERATORS for p in nets[g].parameters()]
        critics = [p for d in ("d_a", "d_b") for p in nets[d].parameters()]
        return {
            "g": adam(gens, float(config.lr), betas),
            "d": adam(critics, float(config.lr), betas),
        }

    def training_state(self, config: CycleGANConfig) -> dict[str, torch.Tensor]:
        """The two image pools (fakes in ``[0, 1]``), empty: ``(0, channels, crop, crop)``."""
        c, s = int(config.channels), int(config.crop_size)
        return {"pool_a": torch.zeros((0, c, s, s)), "pool_b": torch.zeros((0, c, s, s))}

    def dataset(self, data: Mapping[str, Sequence[Path]], config: CycleGANConfig) -> Any:
        """Unpaired ``batch["a"]`` and ``batch["b"]``, each jittered and flipped on its own.

        ``--data a=DIR --data b=DIR``, or a plain ``--data DIR`` holding ``trainA/`` and
        ``trainB/``.

        Raises:
            DatasetError: a missing domain or sub-folder, an empty domain (naming the role and
                the folder), both layouts at once.
        """
        roles = _domains(data)
        load, crop = int(config.load_size), int(config.crop_size)
        if crop % 4 or load < crop:
            raise gdata.DatasetError(
                f"cyclegan: crop_size {crop} must be a multiple of 4 and <= load_size {load}"
            )
        for name, paths in roles.items():
            _check_domain(name, paths)
        return gdata.unpaired(
            roles["a"],
            roles["b"],
            channels=int(config.channels),
            augment=gdata.JointAugment(flip=bool(config.flip), jitter=(load, crop)),
        )

    def training_step(
        self, step: ganedit.Step, batch: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """One generator update (both directions), then one update of both discriminators
        on real images and pooled fakes.

        Args:
            step: nets ``a2b``, ``b2a``, ``d_a``, ``d_b``; optimisers ``g``, ``d``; the
                pools ``pool_a``, ``pool_b`` in ``step.state``.
            batch: ``{"a", "b"}``: ``(N, channels, S, S)`` float32 in ``[0, 1]``.

        Returns:
            ``{"g_adv", "cycle", "identity", "content", "d"}`` detached scalars.
        """
        n, cfg, engine = step.nets, step.config, step.engine
        a, b, kind = batch["a"], batch["b"], str(cfg.gan_loss)

        def gen(name: str, x: torch.Tensor) -> torch.Tensor:
            return self.predict(n[name], {"image": x}, cfg)

        def critic(name: str, x: torch.Tensor) -> torch.Tensor:
            return n[name](x * 2 - 1)

        with engine.autocast(), frozen(n["d_a"], n["d_b"]):  # critics: no weight grads here
            fake_b, fake_a = gen("a2b", a), gen("b2a", b)
            cycle = (gen("b2a", fake_b) - a).abs().mean() + (gen("a2b", fake_a) - b).abs().mean()
            idt = torch.zeros((), device=a.device)
            if float(cfg.identity) > 0:
                idt = (gen("a2b", b) - b).abs().mean() + (gen("b2a", a) - a).abs().mean()
            adv = gan_loss(kind, critic("d_b", fake_b), True, False) + gan_loss(
                kind, critic("d_a", fake_a), True, False
            )
            content = torch.zeros((), device=a.device)
            if float(cfg.content_weight) > 0:
                content = _content(fake_b, a, float(cfg.content_sigma)) + _content(
                    fake_a, b, float(cfg.content_sigma)
                )
            w = float(cfg.cycle_weight)
            loss_g = adv + w * cycle + w * float(cfg.identity) * idt
            loss_g = loss_g + float(cfg.content_weight) * content
        step.opts["g"].zero_grad(set_to_none=True)
        engine.backward(loss_g)  # the graph was built with the critics frozen: no grads on them
        engine.step(step.opts["g"])
        pool = ImagePool(int(cfg.pool_size))
        old_b = pool.query(step.state, "pool_b", fake_b.detach().float())
        old_a = pool.query(step.state, "pool_a", fake_a.detach().float())
        with engine.autocast():
            loss_d = 0.5 * (
                gan_loss(kind, critic("d_b", b), True) + gan_loss(kind, critic("d_b", old_b), False)
            ) + 0.5 * (
                gan_loss(kind, critic("d_a", a), True) + gan_loss(kind, critic("d_a", old_a), False)
            )
        step.opts["d"].zero_grad(set_to_none=True)
        engine.backward(loss_d)
        engine.step(step.opts["d"])
        return {
            "g_adv": adv.detach(),
            "cycle": cycle.detach(),
            "identity": idt.detach(),
            "content": content.detach(),
            "d": loss_d.detach(),
        }

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: CycleGANConfig
    ) -> dict[str, torch.Tensor]:
        """The first 4 images of each domain."""
        return {"image": batch["a"][:4], "b": batch["b"][:4]}

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: Any
    ) -> list[torch.Tensor]:
        """``a | a2b(a) | b2a(a2b(a)) | b | b2a(b) | a2b(b2a(b))``, each ``(N, C, H, W)``."""
        a, b = inputs["image"], inputs["b"]
        fake_b = self.predict(nets["a2b"], {"image": a}, config)
        fake_a = self.predict(nets["b2a"], {"image": b}, config)
        back_a = self.predict(nets["b2a"], {"image": fake_b}, config)
        back_b = self.predict(nets["a2b"], {"image": fake_a}, config)
        return [a, fake_b, back_a, b, fake_a, back_b]

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(
        self, editor: Any, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> dict:
        """Target-class shares, cycle PSNR, Fréchet distance and structure kept, per
        direction (see :mod:`ganedit_translate.evaluate`); default data: the ``testA/`` and
        ``testB/`` of ``data/fashion-cycle``."""
        from ganedit_translate.evaluate import DEFAULT_CYCLE_DATA, evaluate_cyclegan

        given = {k: v for k, v in data.items() if v} or {"data": [DEFAULT_CYCLE_DATA]}
        return evaluate_cyclegan(editor, _domains(given, test=True), options)

    def example_data(self, folder: Path, config: CycleGANConfig) -> dict[str, list[Path]]:
        """Domain A: 3 dark discs; domain B: 5 bright squares; ``load_size`` px."""
        side, ch = int(config.load_size), int(config.channels)
        rng = np.random.default_rng(1)
        yy, xx = np.mgrid[0:side, 0:side]
        for role, count in (("a", 3), ("b", 5)):
            (folder / role).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                (cy, cx), r = rng.uniform(0.35, 0.65, 2) * side, rng.uniform(0.15, 0.3) * side
                if role == "a":
                    shape = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
                else:
                    shape = (abs(yy - cy) < r) & (abs(xx - cx) < r)
                img = shape.astype(np.uint8) * (120 if role == "a" else 240)
                ganedit.write_image(folder / role / f"{i}.png", np.repeat(img[..., None], ch, -1))
        return {"a": [folder / "a"], "b": [folder / "b"]}


def _content(out: torch.Tensor, src: torch.Tensor, sigma: float) -> torch.Tensor:
    """Mean L1 between the Gaussian-blurred ``out`` and ``src`` (``(N, C, H, W)``, [0, 1]):
    the layout and brightness an output should keep of its own input, not its details."""
    k = 2 * math.ceil(3 * sigma) + 1
    return (gaussian_blur2d(out - src, (k, k), (sigma, sigma), "reflect")).abs().mean()


def _check_domain(name: str, paths: Sequence[Path], family: str = "cyclegan") -> None:
    """Raise a DatasetError naming the domain when a path is missing or holds no image."""
    walked = walk_inputs([Path(p) for p in paths])
    if walked.missing:
        raise gdata.DatasetError(f"{family}: domain {name}: {walked.missing[0]} not found")
    roots = {it.root for it in walked.items}
    empty = [p for p in paths if Path(p) not in roots]
    if empty or not walked.items:
        where = (empty or list(paths))[0]
        raise gdata.DatasetError(f"{family}: domain {name}: no images found in {where}")


def _domains(
    data: Mapping[str, Sequence[Path]], test: bool = False, family: str = "cyclegan"
) -> dict[str, list[Path]]:
    """``{"a": [...], "b": [...]}`` from ``a=``/``b=`` roles, or from a plain folder holding
    ``trainA/`` and ``trainB/`` (``testA/``, ``testB/`` when ``test``)."""
    given = {"a", "b"} & set(data)
    if given and "data" in data:
        raise gdata.DatasetError(f"{family}: give either --data DIR or --data a=DIR --data b=DIR")
    if given:
        if len(given) == 1:
            missing = ({"a", "b"} - given).pop()
            raise gdata.DatasetError(
                f"{family}: domain {missing} is missing: give --data a=DIR --data b=DIR "
                "(or one --data DIR holding trainA/ and trainB/)"
            )
        return {"a": gdata.role(data, "a"), "b": gdata.role(data, "b")}
    roots = gdata.role(data, "data")
    out: dict[str, list[Path]] = {}
    for name in ("a", "b"):
        subs = [Path(r) / f"{'test' if test else 'train'}{name.upper()}" for r in roots]
        absent = [s for s in subs if not s.is_dir()]
        if absent:
            raise gdata.DatasetError(
                f"{family}: domain {name}: folder {absent[0]} not found (a plain --data DIR "
                "must hold trainA/ and trainB/; or give --data a=DIR --data b=DIR)"
            )
        out[name] = subs
    return out
