"""The conformance test every model family passes (built-in and third-party alike).

Use it as a function (every failing check is reported, each as ``<family>: <check>: <why>``)::

    from ganedit.testing import check_family
    from ganedit_foo.family import Foo, FooConfig

    def test_foo_conforms():
        check_family(Foo, FooConfig(width=4))

or as a pytest helper that reports every check as its own test item::

    from ganedit.testing import conformance_tests
    test_foo = conformance_tests(Foo, FooConfig(width=4))

Everything runs in fp32 on the CPU with tiny inputs; pass a *tiny* config. The training checks
(``training``, ``resume``, ``export``) train on the family's own :meth:`example_data` through
the real :func:`ganedit.engine.fit`; a family without example data skips them.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganedit.config import check_config_class, config_from_dict, config_to_dict
from ganedit.family import IOSpec, Kind, ModelFamily, TilingMode

__all__ = ["CHECKS", "ConformanceError", "check_family", "conformance_tests"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ConformanceError(AssertionError):
    """One or more checks failed; ``failures`` lists ``"<family>: <check>: <why>"``."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("\n".join(failures))


class _Fail(AssertionError):
    pass


@dataclasses.dataclass
class _Ctx:
    family: ModelFamily
    config: Any
    image_size: tuple[int, int]
    tiled_atol: float
    train_steps: int
    tmp: Path

    @property
    def name(self) -> str:
        return self.family.name or type(self.family).__name__

    @property
    def spec(self) -> IOSpec:
        return self.family.io(self.config)

    def build(self, seed: int = 0) -> dict[str, nn.Module]:
        torch.manual_seed(seed)
        nets = self.family.build(self.config)
        missing = [g for g in self.family.generators if not isinstance(nets.get(g), nn.Module)]
        if not isinstance(nets, Mapping) or missing:
            raise _Fail(f"build(config) must return a dict holding the generators {missing}")
        return dict(nets)

    def generator(self, seed: int = 0, name: str | None = None) -> nn.Module:
        return self.build(seed)[name or self.family.generator_for(self.config)].eval()

    def inputs(self, n: int, size: tuple[int, int] | None = None, seed: int = 0) -> dict:
        """``predict``'s inputs: a latent batch for GENERATE, else an image (and mask) batch."""
        gen = torch.Generator().manual_seed(seed)
        if self.family.kind is Kind.GENERATE:
            return {"latent": self.family.latent(n, self.config, gen)}
        m = self.spec.size_multiple
        h, w = size or self.image_size
        h, w = max(m, h // m * m), max(m, w // m * m)
        out = {"image": torch.rand(n, self.spec.in_channels, h, w, generator=gen)}
        if self.family.kind is Kind.IMAGE_MASK:
            mask = torch.zeros(n, 1, h, w)
            mask[:, :, h // 4 : h // 2 + h // 4, w // 4 : w // 2 + w // 4] = 1.0
            out["mask"] = mask
        return out

    def predict(self, g: nn.Module, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            return self.family.predict(g, inputs, self.config)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


def _item(inputs: Mapping[str, torch.Tensor], i: int) -> dict[str, torch.Tensor]:
    return {k: v[i : i + 1] for k, v in inputs.items()}


# ------------------------------------------------------------------------- static checks
def check_spec(c: _Ctx) -> None:
    """Class attributes, the Config (types, defaults, help) and the IOSpec."""
    cls = type(c.family)
    if not _NAME_RE.match(cls.name or ""):
        raise _Fail(f"name {cls.name!r} must match [a-z0-9-]+")
    if not isinstance(cls.kind, Kind):
        raise _Fail(f"kind must be a ganedit.Kind, got {cls.kind!r}")
    problems = check_config_class(cls.Config)
    if problems:
        raise _Fail("; ".join(problems))
    if not isinstance(c.config, cls.Config):
        raise _Fail(f"tiny_config must be a {cls.Config.__name__}, got {type(c.config)}")
    missing = [f.name for f in dataclasses.fields(cls.Config) if not dict(f.metadata).get("help")]
    if missing:
        raise _Fail(f"Config fields without metadata help text: {', '.join(missing)}")
    both = [
        f.name for f in dataclasses.fields(cls.Config)
        if dict(f.metadata).get("train_only") and dict(f.metadata).get("eval_only")
    ]  # fmt: skip
    if both:
        raise _Fail(f"Config fields both train_only and eval_only: {', '.join(both)}")
    if not cls.summary:
        raise _Fail("summary (one line for `ganedit models`) is empty")
    spec = c.spec
    if not isinstance(spec, IOSpec):
        raise _Fail(f"io(config) must return a ganedit.IOSpec, got {type(spec).__name__}")
    if (spec.in_channels == 0) != (cls.kind is Kind.GENERATE):
        raise _Fail("io().in_channels must be 0 exactly for GENERATE families")
    if cls.kind is Kind.GENERATE and spec.image_size is None:
        raise _Fail("a GENERATE family's io() must give image_size")
    if c.family.generator_for(c.config) not in cls.generators:
        raise _Fail(f"generator_for() names {c.family.generator_for(c.config)!r}, not a generator")


def check_fp32_cpu(c: _Ctx) -> None:
    """Built networks are float32 and live on the CPU (the core moves and casts them)."""
    for k, net in c.build().items():
        for name, p in [*net.named_parameters(), *net.named_buffers()]:
            if p.is_floating_point() and p.dtype != torch.float32:
                raise _Fail(f"{k}.{name} is {p.dtype}; build float32 networks")
            if p.device.type != "cpu":
                raise _Fail(f"{k}.{name} is on {p.device}; build on the CPU")


def _want_shape(c: _Ctx, inputs: Mapping[str, torch.Tensor], n: int) -> tuple[int, ...]:
    spec = c.spec
    if c.family.kind is Kind.GENERATE:
        assert spec.image_size is not None
        return (n, spec.out_channels, *spec.image_size)
    x = inputs["image"]
    return (n, spec.out_channels, x.shape[2] * spec.scale, x.shape[3] * spec.scale)


def check_predict(c: _Ctx) -> None:
    """Every generator: output shape (from io()), float32, finite, in [0, 1]."""
    inputs = c.inputs(2)
    for name in type(c.family).generators:
        out = c.predict(c.generator(name=name), inputs)
        if not isinstance(out, torch.Tensor):
            raise _Fail(f"{name}: must return a tensor, got {type(out).__name__}")
        if tuple(out.shape) != _want_shape(c, inputs, 2):
            raise _Fail(f"{name}: output {tuple(out.shape)}, io() says {_want_shape(c, inputs, 2)}")
        if out.dtype != torch.float32:
            raise _Fail(f"{name}: output dtype {out.dtype} in fp32 on the CPU, expected float32")
        if not bool(torch.isfinite(out).all()):
            raise _Fail(f"{name}: output has NaN or inf")
        lo, hi = float(out.min()), float(out.max())
        if lo < 0.0 or hi > 1.0:
            raise _Fail(f"{name}: output range [{lo:.4g}, {hi:.4g}] is outside [0, 1]; clamp it")


def check_batch_equals_single(c: _Ctx) -> None:
    """Each item of a batch equals that item predicted alone (no cross-item interaction)."""
    g = c.generator()
    inputs = c.inputs(3)
    batch = c.predict(g, inputs)
    for i in range(3):
        d = _max_diff(batch[i : i + 1], c.predict(g, _item(inputs, i)))
        if d > 1e-4:
            raise _Fail(
                f"item {i} differs by {d:.3g} between a batch of 3 and alone "
                "(batch statistics in eval mode? use eval-mode norms)"
            )


def check_tiled(c: _Ctx) -> None:
    """IMAGE kinds, by the declared policy: SUPPORTED tiles equal the untiled result within
    1e-4 at the declared overlap; NEEDS_CONTEXT tiles are close (``tiled_atol``)."""
    tiling = c.spec.tiling
    if c.family.kind is Kind.GENERATE or tiling.mode is TilingMode.UNTILED:
        return
    from ganedit.infer.tiling import tiled_forward

    g, m = c.generator(), c.spec.size_multiple
    overlap = -(-max(tiling.min_overlap, m) // m) * m
    tile = max(2 * overlap + m, -(-min(c.image_size) // m) * m)
    inputs = c.inputs(1, (3 * tile, 3 * tile - 2 * m), seed=1)
    whole = c.predict(g, inputs)

    def fn(tiles: dict[str, torch.Tensor]) -> torch.Tensor:
        return c.family.predict(g, tiles, c.config)

    with torch.no_grad():
        tiled = tiled_forward(
            fn, inputs, scale=c.spec.scale, tile=tile, overlap=overlap, multiple=m
        )
    if tiled.shape != whole.shape:
        raise _Fail(f"tiled shape {tuple(tiled.shape)} != whole {tuple(whole.shape)}")
    exact = tiling.mode is TilingMode.SUPPORTED
    diff = _max_diff(tiled, whole) if exact else float((tiled - whole).abs().mean())
    limit = 1e-4 if exact else c.tiled_atol
    if diff > limit:
        raise _Fail(
            f"{'max' if exact else 'mean'} abs difference {diff:.4g} > {limit} with tile {tile}, "
            f"overlap {overlap} ({tiling.describe()}); an image-wide operation (a norm over "
            "the image, attention, a mean) breaks tiling: declare Tiling.UNTILED, or a larger "
            "radius"
        )


def check_seed(c: _Ctx) -> None:
    """A fixed seed reproduces: same initial weights, same latents, same outputs."""
    n1, n2 = c.build(seed=7), c.build(seed=7)
    for k in n1:
        s1, s2 = n1[k].state_dict(), n2[k].state_dict()
        for name in s1:
            if not torch.equal(s1[name], s2[name]):
                raise _Fail(f"build() with the same seed differs in {k}.{name}")
    a, b = c.inputs(2, seed=5), c.inputs(2, seed=5)
    if any(not torch.equal(a[k], b[k]) for k in a):
        raise _Fail("latent() with the same generator seed differs")
    g = n1[c.family.generator_for(c.config)].eval()
    if not torch.equal(c.predict(g, a), c.predict(g, a)):
        raise _Fail("predict() is not deterministic in eval mode")


def check_save_load(c: _Ctx) -> None:
    """Every generator survives a packed weights file and ``ganedit.load`` bit for bit."""
    from ganedit.infer import load
    from ganedit.weights import generator_state, load_weights, pack_generators, save_weights

    nets = c.build(seed=3)
    gens = type(c.family).generators
    path = c.tmp / "weights" / f"{c.name}.safetensors"
    card = {"family": c.family.name, "config": config_to_dict(c.config), "generators": list(gens)}
    save_weights(path, pack_generators({g: nets[g].state_dict() for g in gens}), card)
    state, card2 = load_weights(path)
    config2 = config_from_dict(type(c.config), card2.get("config") or {})
    if config2 != c.config:
        raise _Fail(f"config did not round-trip: {config2} != {c.config}")
    name = c.family.generator_for(c.config)
    g2 = c.family.build_generator(name, config2).eval()
    g2.load_state_dict(generator_state(state, name, gens, path))
    inputs = c.inputs(2)
    want = c.predict(nets[name].eval(), inputs)
    if _max_diff(c.predict(g2, inputs), want) > 0:
        raise _Fail("build_generator() + the reloaded tensors give another output")
    editor = load(type(c.family), weights=path, device="cpu", precision="fp32")
    if editor.config != c.config:
        raise _Fail("ganedit.load() did not take the config from the card")
    if c.family.kind is Kind.GENERATE:
        out = editor.generate(inputs["latent"])
    else:
        out = editor.forward(inputs["image"], inputs.get("mask"))
    if _max_diff(out.cpu(), want) > 1e-5:
        raise _Fail(f"ganedit.load(weights) output differs by {_max_diff(out.cpu(), want):.3g}")


# ----------------------------------------------------------------------- training checks
def _fit(c: _Ctx, out: Path, steps: int, resume: bool = False) -> Any:
    from ganedit.engine import Engine, fit

    data = c.family.example_data(c.tmp / "example", c.config)
    engine = Engine(device="cpu", precision="fp32", seed=0, deterministic=True)
    return fit(
        c.family, c.config, data, out, engine, steps=steps, resume=resume, progress=False,
        checkpoint_every=max(1, steps // 2), sample_every=0, log_every=1,
    )  # fmt: skip


def _skip_training(c: _Ctx) -> bool:
    cls = type(c.family)
    return not (cls.is_trainable() and cls.has_example_data())


def check_training(c: _Ctx) -> None:
    """A few steps of :func:`ganedit.engine.fit` on ``example_data``: finite losses, every
    optimised network changes, weights + card + sample grid written."""
    if _skip_training(c):
        return
    torch.manual_seed(0)
    before = {k: {n: t.clone() for n, t in v.state_dict().items()} for k, v in c.build().items()}
    result = _fit(c, c.tmp / "run", c.train_steps)
    for k, v in result.metrics.items():
        if not math.isfinite(float(v)):
            raise _Fail(f"loss {k!r} is not finite ({v})")
    if result.weights is None or not Path(result.weights).is_file():
        raise _Fail("fit() wrote no weights file")
    if not list((c.tmp / "run" / "samples").glob("*.png")):
        raise _Fail("fit() wrote no sample grid")
    from ganedit.engine import load_state

    state, _doc = load_state(result.checkpoint)
    unchanged = [
        k for k, sd in before.items()
        if all(torch.equal(sd[n], state["nets"][k][n]) for n in sd if sd[n].is_floating_point())
    ]  # fmt: skip
    if unchanged:
        raise _Fail(f"networks {unchanged} did not change in training (engine.step not called?)")


def check_resume(c: _Ctx) -> None:
    """Two steps, stop, resume two more: bitwise the same as four steps straight (networks,
    optimisers, EMA, RNG, data position and the family's ``training_state``)."""
    if _skip_training(c):
        return
    from ganedit.engine import load_state

    straight = _fit(c, c.tmp / "straight", 4)
    _fit(c, c.tmp / "split", 2)
    resumed = _fit(c, c.tmp / "split", 4, resume=True)
    a, _ = load_state(straight.checkpoint)
    b, _ = load_state(resumed.checkpoint)
    diffs = _state_diffs(a, b, "")
    if diffs:
        raise _Fail(f"resumed run differs from a straight run in {', '.join(diffs[:5])}")


def _state_diffs(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, torch.Tensor):
        same = isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
        return [] if same else [where]
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping) or set(a) != set(b):
            return [where]
        return [d for k in a for d in _state_diffs(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return [where]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _state_diffs(x, y, f"{where}/{i}")
        ]
    return [] if a == b else [where]


def check_export(c: _Ctx) -> None:
    """``ganedit export`` of the trained run loads with ``ganedit.load`` and runs."""
    if _skip_training(c):
        return
    from ganedit.engine import EMAWarning, export_weights
    from ganedit.infer import load

    run = c.tmp / "export-run"
    _fit(c, run, 2)
    with warnings.catch_warnings():  # two steps: an EMA is still its initial weights, by design
        warnings.simplefilter("ignore", EMAWarning)
        path = export_weights(run, c.tmp / "exported.safetensors", fp16=True)
    editor = load(type(c.family), weights=path, device="cpu", precision="fp32")
    inputs = c.inputs(1)
    if c.family.kind is Kind.GENERATE:
        out = editor.generate(inputs["latent"])
    else:
        out = editor.forward(inputs["image"], inputs.get("mask"))
    if not bool(torch.isfinite(out).all()):
        raise _Fail("the exported weights give a non-finite output")


CHECKS: dict[str, Callable[[_Ctx], None]] = {
    "spec": check_spec,
    "fp32_cpu": check_fp32_cpu,
    "predict": check_predict,
    "batch_equals_single": check_batch_equals_single,
    "tiled": check_tiled,
    "seed": check_seed,
    "save_load": check_save_load,
    "training": check_training,
    "resume": check_resume,
    "export": check_export,
}


def check_family(
    family_cls: type[ModelFamily],
    tiny_config: Any,
    *,
    image_size: int | tuple[int, int] = 16,
    tiled_atol: float = 0.01,
    train_steps: int = 2,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """Run the conformance checks on ``family_cls`` with ``tiny_config`` (fp32, CPU).

    Checks (names for ``only`` / ``skip``): ``spec`` (name, kind, Config types/defaults/help,
    IOSpec), ``fp32_cpu``, ``predict`` (every generator: shape from ``io()``, float32,
    finite, in [0, 1]), ``batch_equals_single``, ``tiled`` (by the declared tiling policy:
    SUPPORTED exact within 1e-4, NEEDS_CONTEXT within ``tiled_atol`` mean), ``seed``,
    ``save_load`` (packed weights, ``build_generator``, ``ganedit.load``), and, for trainable
    families with ``example_data``: ``training`` (a few :func:`~ganedit.engine.fit` steps),
    ``resume`` (bitwise exact) and ``export``.

    Args:
        family_cls: the ModelFamily subclass.
        tiny_config: an instance of ``family_cls.Config`` small enough for the CPU.
        image_size: input size (IMAGE kinds) as ``H`` or ``(H, W)``, rounded to the size
            multiple.
        tiled_atol: largest mean absolute difference for NEEDS_CONTEXT tiling.
        train_steps: steps of the training check.
        only, skip: run only / skip these checks.

    Raises:
        ConformanceError: every failed check, one line each: ``"<family>: <check>: <why>"``.
    """
    names = list(only) if only is not None else list(CHECKS)
    unknown = [n for n in [*names, *skip] if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECKS)}")
    if not (isinstance(family_cls, type) and issubclass(family_cls, ModelFamily)):
        raise ConformanceError([f"{family_cls!r}: spec: not a ModelFamily subclass"])
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    failures = []
    with tempfile.TemporaryDirectory(prefix="ganedit-check-") as tmp:
        ctx = _Ctx(family_cls(), tiny_config, size, tiled_atol, train_steps, Path(tmp))  # type: ignore[arg-type]
        with torch.random.fork_rng(devices=[]):
            for name in (n for n in names if n not in set(skip)):
                try:
                    CHECKS[name](ctx)
                except Exception as exc:  # noqa: BLE001 - every failure is reported
                    why = str(exc) if isinstance(exc, _Fail) else f"{type(exc).__name__}: {exc}"
                    failures.append(f"{ctx.name}: {name}: {why}")
    if failures:
        raise ConformanceError(failures)


def conformance_tests(family_cls: type[ModelFamily], tiny_config: Any, **options: Any) -> Any:
    """A pytest test function parametrized over the checks (one test item per check).

    Usage in a plugin's test module::

        test_foo_conformance = conformance_tests(Foo, FooConfig(width=4))

    ``options`` are :func:`check_family`'s keyword options (``image_size``, ``skip``...).
    """
    import pytest

    skip = set(options.pop("skip", ()))

    @pytest.mark.parametrize("check", [n for n in CHECKS if n not in skip])
    def test_conformance(check: str) -> None:
        check_family(family_cls, tiny_config, only=[check], **options)

    test_conformance.__doc__ = f"Conformance of {family_cls.__name__} (ganedit.testing)."
    return test_conformance
