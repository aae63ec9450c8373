"""What the two unpaired translation families (``cyclegan`` and ``cut``) share.

Both pack two generators of one shape, ``a2b`` and ``b2a``, and two PatchGAN critics, ``d_a``
(judges domain A, so ``b2a``'s outputs) and ``d_b``, in one weights file; ``direction`` picks
the generator that ``ganedit run`` / ``ganedit.load`` build. Both read unpaired batches
``{"a", "b"}`` (``--data a=DIR --data b=DIR``, or one ``--data DIR`` holding ``trainA/`` and
``trainB/``), update the generators (optimiser ``"g"``) with the critics frozen, then both
critics (``"d"``), and both evaluate per direction on ``testA/`` and ``testB/``. The
generators are ResNets with instance norm over the whole image, so the families are
``Tiling.UNTILED``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from torch import nn

import ganedit
from ganedit import data as gdata
from ganedit.config import option
from ganedit.io import walk_inputs
from ganedit.nn import PatchDiscriminator, adam, frozen, gan_loss, init_weights
from ganedit_translate.common import TranslationFamily, update

__all__ = [
    "CRITICS",
    "CRITIC_OF",
    "GENERATORS",
    "UnpairedCritics",
    "UnpairedFamily",
    "UnpairedNets",
    "check_domain",
    "domains",
]

C = TypeVar("C")

GENERATORS = ("a2b", "b2a")
CRITICS = ("d_a", "d_b")
CRITIC_OF = {"a2b": "d_b", "b2a": "d_a"}  # a2b's outputs are judged against domain b


@dataclass
class UnpairedNets:
    """The first options of an unpaired Config: which generator runs, and its shape."""

    direction: Literal["a2b", "b2a"] = option(
        "a2b", "Generator to run: a2b (A -> B) or b2a (B -> A)."
    )
    channels: Literal[1, 3] = option(3, "Image channels (1 gray, 3 RGB).")
    width: int = option(64, "Channels of the generators' first layer.")
    blocks: int = option(9, "Residual blocks per generator.")


@dataclass
class UnpairedCritics:
    """The critics' options of an unpaired Config (both critics alike)."""

    ndf: int = option(64, "Discriminator width.", train_only=True)
    d_layers: int = option(3, "Discriminator stride-2 layers (3 = 70x70 patches).", train_only=True)
    gan_loss: Literal["lsgan", "bce", "hinge"] = option(
        "lsgan", "Adversarial loss (the paper: lsgan).", train_only=True
    )


class UnpairedFamily(TranslationFamily[C]):
    """Base of ``cyclegan`` and ``cut``: everything but the networks' construction and the
    generators' losses. The Config has the fields of :class:`UnpairedNets`,
    :class:`UnpairedCritics` and :class:`~ganedit_translate.common.TrainingOptions`.
    """

    generators = GENERATORS
    #: ``sample_columns`` adds the round trips b2a(a2b(a)) and a2b(b2a(b)).
    cycle_columns = False

    def io(self, config: Any) -> ganedit.IOSpec:
        """``channels`` -> ``channels``, size multiple 4 (two stride-2 convs); UNTILED
        (instance norm normalises over the whole image)."""
        ch = int(config.channels)
        return ganedit.IOSpec(ch, ch, size_multiple=4, tiling=ganedit.Tiling.UNTILED)

    def generator_for(self, config: Any) -> str:
        """``config.direction``."""
        if config.direction not in GENERATORS:
            raise ValueError(f"{self.name}: direction must be a2b or b2a, got {config.direction!r}")
        return str(config.direction)

    def check_generator(self, name: str) -> None:
        """Raise KeyError unless ``name`` is ``a2b`` or ``b2a``."""
        if name not in GENERATORS:
            raise KeyError(f"{self.name} has generators a2b and b2a, not {name!r}")

    def build_critics(self, config: Any) -> dict[str, nn.Module]:
        """``d_a`` and ``d_b``: PatchGANs (``ndf`` wide, ``d_layers`` deep, instance norm),
        initialised in that order."""
        nets = {}
        for d in CRITICS:
            net = PatchDiscriminator(
                int(config.channels), int(config.ndf), int(config.d_layers), norm="instance"
            )
            nets[d] = init_weights(net)
        return nets

    def generator_nets(self, generator: str) -> tuple[str, ...]:
        """The nets that optimiser ``"g"`` trains for ``generator`` (cut adds its head)."""
        return (generator,)

    def optimizers(
        self, nets: Mapping[str, nn.Module], config: Any
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam ``"g"`` over both generators' :meth:`generator_nets`, ``"d"`` over both
        critics."""
        betas = (float(config.betas[0]), float(config.betas[1]))
        gens = [p for g in GENERATORS for k in self.generator_nets(g) for p in nets[k].parameters()]
        critics = [p for d in CRITICS for p in nets[d].parameters()]
        return {
            "g": adam(gens, float(config.lr), betas),
            "d": adam(critics, float(config.lr), betas),
        }

    def dataset(self, data: Mapping[str, Sequence[Path]], config: Any) -> gdata.TrainData:
        """Unpaired ``batch["a"]`` and ``batch["b"]``, each jittered and flipped on its own.

        ``--data a=DIR --data b=DIR``, or a plain ``--data DIR`` holding ``trainA/`` and
        ``trainB/``.

        Raises:
            DatasetError: a missing domain or sub-folder, an empty domain (naming the role and
                the folder), both layouts at once, a crop that is not a multiple of 4.
        """
        roles = domains(data, family=self.name)
        load, crop = int(config.load_size), int(config.crop_size)
        if crop % 4 or load < crop:
            raise gdata.DatasetError(
                f"{self.name}: crop_size {crop} must be a multiple of 4 and <= load_size {load}"
            )
        for name, paths in roles.items():
            check_domain(name, paths, family=self.name)
        return gdata.unpaired(
            roles["a"],
            roles["b"],
            channels=int(config.channels),
            augment=gdata.JointAugment(flip=bool(config.flip), jitter=(load, crop)),
        )

    # ---------------------------------------------------------------------------- training
    @contextlib.contextmanager
    def generator_pass(self, step: ganedit.Step) -> Iterator[None]:
        """The generators' forward passes: the engine's autocast, both critics frozen (their
        weights get no gradients from the generators' loss)."""
        with step.engine.autocast(), frozen(*(step.nets[d] for d in CRITICS)):
            yield

    def critic_update(
        self,
        step: ganedit.Step,
        real: Mapping[str, torch.Tensor],
        fake: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        """One update of both critics (optimiser ``"d"``) with the Config's ``gan_loss``:
        ``d_b`` on real and fake B, ``d_a`` on real and fake A, half the sum of each critic's
        two terms.

        Args:
            step: nets ``d_a``, ``d_b``; optimiser ``d``.
            real, fake: ``{"a", "b"}``: ``(N, C, S, S)`` in ``[-1, 1]`` (fakes detached).

        Returns:
            The critics' loss, a detached scalar.
        """
        n, kind = step.nets, str(step.config.gan_loss)
        with step.engine.autocast():
            loss = 0.5 * (
                gan_loss(kind, n["d_b"](real["b"]), True)
                + gan_loss(kind, n["d_b"](fake["b"]), False)
            ) + 0.5 * (
                gan_loss(kind, n["d_a"](real["a"]), True)
                + gan_loss(kind, n["d_a"](fake["a"]), False)
            )
        update(step, "d", loss)
        return loss.detach()

    def validation_inputs(
        self, batch: Mapping[str, torch.Tensor], config: Any
    ) -> dict[str, torch.Tensor]:
        """The first 4 images of each domain."""
        return {"image": batch["a"][:4], "b": batch["b"][:4]}

    def sample_columns(
        self, nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], config: Any
    ) -> list[torch.Tensor]:
        """``a | a2b(a) | b | b2a(b)``, each ``(N, C, H, W)`` in ``[0, 1]``; with
        ``cycle_columns``, ``a | a2b(a) | b2a(a2b(a)) | b | b2a(b) | a2b(b2a(b))``."""

        def run(generator: str, x: torch.Tensor) -> torch.Tensor:
            return self.predict(nets[generator], {"image": x}, config)

        a, b = inputs["image"], inputs["b"]
        fake_b, fake_a = run("a2b", a), run("b2a", b)
        if not self.cycle_columns:
            return [a, fake_b, b, fake_a]
        back_a, back_b = run("b2a", fake_b), run("a2b", fake_a)
        return [a, fake_b, back_a, b, fake_a, back_b]

    def evaluate(
        self, editor: ganedit.Editor, data: Mapping[str, Sequence[Path]], options: Mapping[str, Any]
    ) -> ganedit.EvalResult:
        """Per direction: target-class share, content score, cycle PSNR (informative for
        cut, which has no cycle loss), Fréchet distance and structure kept (see
        :mod:`ganedit_translate.evaluate`); default data: the ``testA/`` and ``testB/`` of
        ``data/fashion-cycle``."""
        from ganedit_translate.evaluate import DEFAULT_CYCLE_DATA, evaluate_cyclegan

        given = {k: v for k, v in data.items() if v} or {"data": [DEFAULT_CYCLE_DATA]}
        return evaluate_cyclegan(editor, domains(given, test=True, family=self.name), options)

    def example_data(self, folder: Path, config: Any) -> dict[str, list[Path]]:
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


# ----------------------------------------------------------------------------------- data
def check_domain(name: str, paths: Sequence[Path], family: str) -> None:
    """Raise a DatasetError naming the domain when a path is missing or holds no image."""
    walked = walk_inputs([Path(p) for p in paths])
    if walked.missing:
        raise gdata.DatasetError(f"{family}: domain {name}: {walked.missing[0]} not found")
    roots = {it.root for it in walked.items}
    empty = [p for p in paths if Path(p) not in roots]
    if empty or not walked.items:
        where = (empty or list(paths))[0]
        raise gdata.DatasetError(f"{family}: domain {name}: no images found in {where}")


def domains(
    data: Mapping[str, Sequence[Path]], family: str, test: bool = False
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
