"""The conformance test every model family passes (built-in and third-party alike).

Use it as a function (each failure is an ``AssertionError`` naming the family and the check)::

    from ganedit.testing import check_family
    from ganedit_foo.family import Foo, FooConfig

    def test_foo_conforms():
        check_family(Foo, FooConfig(channels=4))

or as a pytest helper that reports every check as its own test item::

    from ganedit.testing import conformance_tests
    test_foo = conformance_tests(Foo, FooConfig(channels=4))

Everything runs in fp32 on the CPU with tiny inputs; pass a *tiny* config (a few channels).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganedit.config import config_from_dict, config_to_dict
from ganedit.family import Kind, ModelFamily

__all__ = ["CHECKS", "check_family", "conformance_tests"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclasses.dataclass
class _Ctx:
    family: ModelFamily
    config: Any
    image_size: tuple[int, int]
    tile: int
    overlap: int
    tiled_atol: float
    train_image_size: int
    tmp: Path

    @property
    def name(self) -> str:
        return self.family.name or type(self.family).__name__

    def fail(self, check: str, message: str) -> AssertionError:
        return AssertionError(f"{self.name}: {check}: {message}")

    def build(self, seed: int = 0) -> dict[str, nn.Module]:
        torch.manual_seed(seed)
        nets = self.family.build(self.config)
        if not isinstance(nets, Mapping) or not isinstance(nets.get("generator"), nn.Module):
            raise self.fail(
                "build", 'build(config) must return a dict with an nn.Module "generator"'
            )
        return dict(nets)

    def generator(self, seed: int = 0) -> nn.Module:
        return self.build(seed)["generator"].eval()

    def inputs(self, n: int, size: tuple[int, int] | None = None, seed: int = 0) -> tuple[Any, Any]:
        """(x, mask) for ``predict``: a latent batch for GENERATE, else an image batch."""
        fam = self.family
        gen = torch.Generator().manual_seed(seed)
        if fam.kind is Kind.GENERATE:
            return fam.latent(n, self.config, gen), None
        m = max(1, fam.size_multiple)
        h, w = size or self.image_size
        h, w = max(m, h // m * m), max(m, w // m * m)
        x = torch.rand(n, fam.channels, h, w, generator=gen)
        mask = None
        if fam.kind is Kind.IMAGE_MASK:
            mask = torch.zeros(n, 1, h, w)
            mask[:, :, h // 4 : h // 2 + h // 4, w // 4 : w // 2 + w // 4] = 1.0
        return x, mask

    def predict(self, g: nn.Module, x: Any, mask: Any) -> torch.Tensor:
        with torch.no_grad():
            return self.family.predict(g, x, mask)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


# ------------------------------------------------------------------------------------ checks
def check_spec(c: _Ctx) -> None:
    """Class attributes: name, kind, Config dataclass with help texts, summary."""
    cls = type(c.family)
    if not _NAME_RE.match(cls.name or ""):
        raise c.fail("spec", f"name {cls.name!r} must match [a-z0-9-]+")
    if not isinstance(cls.kind, Kind):
        raise c.fail("spec", f"kind must be a ganedit.Kind, got {cls.kind!r}")
    if not dataclasses.is_dataclass(cls.Config):
        raise c.fail("spec", "Config must be a dataclass")
    if not isinstance(c.config, cls.Config):
        raise c.fail("spec", f"tiny_config must be a {cls.Config.__name__}, got {type(c.config)}")
    try:
        cls.Config()
    except TypeError as exc:
        raise c.fail("spec", f"Config() needs a default for every field ({exc})") from None
    missing = [f.name for f in dataclasses.fields(cls.Config) if not dict(f.metadata).get("help")]
    if missing:
        raise c.fail("spec", f"Config fields without metadata help text: {', '.join(missing)}")
    if not cls.summary:
        raise c.fail("spec", "summary (one line for `ganedit plugins`) is empty")
    if cls.size_multiple < 1 or c.family.scale_for(c.config) < 1:
        raise c.fail("spec", "size_multiple and scale must be >= 1")


def check_predict(c: _Ctx) -> None:
    """Output shape, dtype (float32) and range ([0, 1], finite) of ``predict``."""
    g = c.generator()
    x, mask = c.inputs(2)
    out = c.predict(g, x, mask)
    if not isinstance(out, torch.Tensor):
        raise c.fail("predict", f"must return a tensor, got {type(out).__name__}")
    if c.family.kind is Kind.GENERATE:
        size = c.family.output_size(c.config)
        want: tuple[int, ...] | None = (2, c.family.channels, *size) if size else None
    else:
        s = c.family.scale_for(c.config)
        want = (2, c.family.channels, x.shape[2] * s, x.shape[3] * s)
    if out.ndim != 4 or out.shape[0] != 2 or (want is not None and tuple(out.shape) != want):
        raise c.fail(
            "predict", f"output shape {tuple(out.shape)}, expected {want or '(2, C, H, W)'}"
        )
    if out.dtype != torch.float32:
        raise c.fail("predict", f"output dtype {out.dtype} in fp32 on the CPU, expected float32")
    if not bool(torch.isfinite(out).all()):
        raise c.fail("predict", "output has NaN or inf")
    lo, hi = float(out.min()), float(out.max())
    if lo < 0.0 or hi > 1.0:
        raise c.fail("predict", f"output range [{lo:.4g}, {hi:.4g}] is outside [0, 1]; clamp it")


def check_batch_equals_single(c: _Ctx) -> None:
    """Each item of a batch equals that item predicted alone (no cross-item interaction)."""
    g = c.generator()
    x, mask = c.inputs(3)
    batch = c.predict(g, x, mask)
    for i in range(x.shape[0]):
        one = c.predict(g, x[i : i + 1], None if mask is None else mask[i : i + 1])
        d = _max_diff(batch[i : i + 1], one)
        if d > 1e-4:
            raise c.fail(
                "batch equals single",
                f"item {i} differs by {d:.3g} between a batch of 3 and alone "
                "(batch statistics in eval mode? use eval-mode norms)",
            )


def check_tiled(c: _Ctx) -> None:
    """IMAGE kinds: tiled inference (blended tiles) is close to whole-image inference."""
    if c.family.kind is Kind.GENERATE:
        return
    from ganedit.infer.tiling import tiled_forward

    g = c.generator()
    h, w = c.image_size
    x, mask = c.inputs(1, (h * 2 + c.tile // 2, w * 2 + c.tile // 2), seed=1)
    m = max(1, c.family.size_multiple)
    x = x[:, :, : x.shape[2] // m * m, : x.shape[3] // m * m]
    if mask is not None:
        mask = mask[:, :, : x.shape[2], : x.shape[3]]
    whole = c.predict(g, x, mask)
    if mask is None:

        def fn(t: torch.Tensor) -> torch.Tensor:
            return c.family.predict(g, t)

        inp = x
    else:
        ch = x.shape[1]

        def fn(t: torch.Tensor) -> torch.Tensor:
            return c.family.predict(g, t[:, :ch], t[:, ch:])

        inp = torch.cat([x, mask], dim=1)
    with torch.no_grad():
        tiled = tiled_forward(
            fn,
            inp,
            scale=c.family.scale_for(c.config),
            tile=c.tile,
            overlap=c.overlap,
            multiple=m,
        )
    if tiled.shape != whole.shape:
        raise c.fail("tiled", f"tiled shape {tuple(tiled.shape)} != whole {tuple(whole.shape)}")
    mean = float((tiled - whole).abs().mean())
    if mean > c.tiled_atol:
        raise c.fail(
            "tiled close to untiled",
            f"mean abs difference {mean:.4g} > {c.tiled_atol} (tile {c.tile}, overlap "
            f"{c.overlap}); a global operation (norm over the image, attention) breaks tiling",
        )


def _write_training_images(c: _Ctx, folder: Path, n: int = 4) -> None:
    from ganedit.io import write_image

    rng = np.random.default_rng(0)
    s = c.train_image_size
    for i in range(n):
        coarse = rng.random((4, 4, c.family.channels))
        img = np.kron(coarse, np.ones((s // 4 + 1, s // 4 + 1, 1)))[:s, :s]
        img = (img * 0.8 + rng.random((s, s, c.family.channels)) * 0.2) * 255
        write_image(folder / f"train_{i}.png", img.round().astype(np.uint8))


def check_training_step(c: _Ctx) -> None:
    """Trainable families: one step through a real Engine gives finite losses and changes the
    weights of every optimised network."""
    if not type(c.family).is_trainable():
        return
    from ganedit.engine import Engine

    data = c.tmp / "train"
    data.mkdir(parents=True, exist_ok=True)
    _write_training_images(c, data)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    for attr, value in (("family", c.family), ("config", c.config)):
        try:
            setattr(engine, attr, value)
        except AttributeError:
            pass
    nets = engine.setup(c.build())
    opts = c.family.optimizers(nets, c.config)
    if not opts:
        raise c.fail("training step", "optimizers() returned no optimiser")
    ds = c.family.dataset([data], c.config)
    ds = ds.setup(engine.device, seed=0)
    batch = ds.next_batch(2)
    before = {k: [p.detach().clone() for p in nets[k].parameters()] for k in opts if k in nets}
    for net in nets.values():
        net.train()
    losses = c.family.training_step(nets, opts, batch, engine)
    if not isinstance(losses, Mapping) or not losses:
        raise c.fail("training step", "training_step must return a non-empty dict of losses")
    for k, v in losses.items():
        val = float(v.detach().float().mean()) if isinstance(v, torch.Tensor) else float(v)
        if not math.isfinite(val):
            raise c.fail("training step", f"loss {k!r} is not finite ({val})")
    for k, params in before.items():
        after = list(nets[k].parameters())
        if not any(not torch.equal(a.detach(), b) for a, b in zip(after, params, strict=True)):
            raise c.fail(
                "training step",
                f"network {k!r} has an optimiser but its weights did not change "
                "(engine.step(opt) not called? zero learning rate?)",
            )


def check_save_load(c: _Ctx) -> None:
    """Generator weights survive ganedit.weights save/load and ganedit.load(), bit for bit."""
    from ganedit.editor import load
    from ganedit.weights import load_weights, save_weights

    g = c.generator(seed=3)
    path = c.tmp / "weights" / f"{c.family.name}.safetensors"
    card = {"family": c.family.name, "config": config_to_dict(c.config)}
    save_weights(path, g.state_dict(), card)
    state, card2 = load_weights(path)
    config2 = config_from_dict(type(c.config), card2.get("config") or {})
    if config2 != c.config:
        raise c.fail("save/load", f"config did not round-trip: {config2} != {c.config}")
    g2 = c.family.build(config2)["generator"].eval()
    g2.load_state_dict(state)
    x, mask = c.inputs(2)
    a, b = c.predict(g, x, mask), c.predict(g2, x, mask)
    if _max_diff(a, b) > 0:
        raise c.fail("save/load", f"reloaded generator differs by {_max_diff(a, b):.3g}")
    editor = load(type(c.family), weights=path, device="cpu", precision="fp32")
    if editor.config != c.config:
        raise c.fail("save/load", "ganedit.load() did not take the config from the card")
    if c.family.kind is Kind.GENERATE:
        out = editor.generate(x)
    else:
        out = editor.forward(x, mask)
    d = _max_diff(out.cpu(), a)
    if d > 1e-5:
        raise c.fail("save/load", f"ganedit.load(weights) output differs by {d:.3g}")


def check_seed(c: _Ctx) -> None:
    """A fixed seed reproduces: same initial weights, same latents, same outputs."""
    n1, n2 = c.build(seed=7), c.build(seed=7)
    for k in n1:
        s1, s2 = n1[k].state_dict(), n2[k].state_dict()
        for name in s1:
            if not torch.equal(s1[name], s2[name]):
                raise c.fail("seed", f"build() with the same seed differs in {k}.{name}")
    x1, m1 = c.inputs(2, seed=5)
    x2, _ = c.inputs(2, seed=5)
    if not torch.equal(x1, x2):
        raise c.fail("seed", "latent() with the same generator seed differs")
    g = n1["generator"].eval()
    if not torch.equal(c.predict(g, x1, m1), c.predict(g, x1, m1)):
        raise c.fail("seed", "predict() is not deterministic")


def check_fp32_cpu(c: _Ctx) -> None:
    """Built networks are float32 and live on the CPU (the core moves and casts them)."""
    for k, net in c.build().items():
        for name, p in [*net.named_parameters(), *net.named_buffers()]:
            if p.is_floating_point() and p.dtype != torch.float32:
                raise c.fail("fp32 cpu", f"{k}.{name} is {p.dtype}; build float32 networks")
            if p.device.type != "cpu":
                raise c.fail("fp32 cpu", f"{k}.{name} is on {p.device}; build on the CPU")


CHECKS: dict[str, Callable[[_Ctx], None]] = {
    "spec": check_spec,
    "fp32_cpu": check_fp32_cpu,
    "predict": check_predict,
    "batch_equals_single": check_batch_equals_single,
    "tiled": check_tiled,
    "seed": check_seed,
    "save_load": check_save_load,
    "training_step": check_training_step,
}


def _ctx(
    family_cls: type[ModelFamily],
    tiny_config: Any,
    tmp: Path,
    image_size: int | tuple[int, int],
    tile: int | None,
    overlap: int | None,
    tiled_atol: float,
    train_image_size: int,
) -> _Ctx:
    if not (isinstance(family_cls, type) and issubclass(family_cls, ModelFamily)):
        raise AssertionError(f"check_family expects a ModelFamily subclass, got {family_cls!r}")
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    t = tile if tile is not None else max(size)
    return _Ctx(
        family=family_cls(),
        config=tiny_config,
        image_size=size,  # type: ignore[arg-type]
        tile=t,
        overlap=overlap if overlap is not None else t // 2,
        tiled_atol=tiled_atol,
        train_image_size=train_image_size,
        tmp=tmp,
    )


def check_family(
    family_cls: type[ModelFamily],
    tiny_config: Any,
    *,
    image_size: int | tuple[int, int] = 16,
    tile: int | None = None,
    overlap: int | None = None,
    tiled_atol: float = 0.01,
    train_image_size: int = 32,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """Run the conformance checks on ``family_cls`` with ``tiny_config`` (fp32, CPU).

    Checks (names for ``only`` / ``skip``): ``spec`` (name, kind, Config help texts),
    ``fp32_cpu``, ``predict`` (shape, float32, finite, in [0, 1]), ``batch_equals_single``,
    ``tiled`` (IMAGE kinds: blended tiles close to the whole image), ``seed`` (fixed seed
    reproduces), ``save_load`` (ganedit.weights round trip and ganedit.load), and
    ``training_step`` (trainable families: one step through a real Engine on a tiny synthetic
    image folder changes the weights with finite losses).

    Args:
        family_cls: the ModelFamily subclass.
        tiny_config: an instance of ``family_cls.Config`` small enough for the CPU.
        image_size: input size (IMAGE kinds) as ``H`` or ``(H, W)``, rounded to size_multiple.
        tile, overlap: tile size and overlap for the tiled check (default: ``max(image_size)``
            and half of it); the tiled input is about twice ``image_size``.
        tiled_atol: largest allowed mean absolute difference, tiled vs whole.
        train_image_size: side of the synthetic training images (at least the family's crop).
        only, skip: run only / skip these checks.

    Raises:
        AssertionError: ``"<family>: <check>: <what is wrong>"``.
    """
    names = list(only) if only is not None else list(CHECKS)
    unknown = [n for n in [*names, *skip] if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECKS)}")
    with tempfile.TemporaryDirectory(prefix="ganedit-check-") as tmp:
        ctx = _ctx(
            family_cls,
            tiny_config,
            Path(tmp),
            image_size,
            tile,
            overlap,
            tiled_atol,
            train_image_size,
        )
        with torch.random.fork_rng(devices=[]):
            for name in names:
                if name not in skip:
                    CHECKS[name](ctx)


def conformance_tests(family_cls: type[ModelFamily], tiny_config: Any, **options: Any) -> Any:
    """A pytest test function parametrized over the checks (one test item per check).

    Usage in a plugin's test module::

        test_foo_conformance = conformance_tests(Foo, FooConfig(channels=4))

    ``options`` are :func:`check_family`'s keyword options (``image_size``, ``tile``...).
    """
    import pytest

    skip = set(options.pop("skip", ()))

    @pytest.mark.parametrize("check", [n for n in CHECKS if n not in skip])
    def test_conformance(check: str) -> None:
        check_family(family_cls, tiny_config, only=[check], **options)

    test_conformance.__doc__ = f"Conformance of {family_cls.__name__} (ganedit.testing)."
    return test_conformance
