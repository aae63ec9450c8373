"""How a generator runs inference: memory format and precision, chosen in one measurement.

:func:`choose_model_settings` times the generator on one probe in every candidate pair of
precision (fp32, plus bf16/fp16 where :func:`ganedit.devices.precision_candidates` offers
them: a capable GPU's choice, or a CPU with instructions for them) and memory format (NCHW,
channels_last), through :func:`ganedit.measured.measured_choice`: one warm-up round, then two
timed rounds with the candidates alternating, remembered per machine in
``~/.cache/ganedit/measurements.json`` so a second run measures nothing. An option fixes
either: ``memory_format="channels_last"``, ``precision="bf16"``.

A reduced precision is a candidate only while its output stays within a **quality guard**
of the fp32 output on the same probe, checked before any timing:

* image families (IMAGE, IMAGE_MASK): the outputs quantised to 0-255 differ by at most
  :data:`GUARD_MAX_LEVELS` levels anywhere and :data:`GUARD_MEAN_LEVELS` on average (srgan x4
  in bf16 on an AMX Xeon: 2 / 0.16);
* GENERATE families: :data:`GUARD_SAMPLES` samples' per-channel mean and standard deviation
  (0-255) differ by at most :data:`GUARD_STAT_LEVELS` levels (a sample is a chaotic function of
  its latent, so its pixels are not compared one by one).

The probe is one ``(1, C_in, S, S)`` image of 1/f noise (the spectrum of photographs, unlike
uniform noise, so the guard sees what a photo would; ``S``: the smallest multiple of the
family's size multiple that is at least :data:`PROBE_SIDE`), plus a square ``(1, 1, S, S)``
hole for IMAGE_MASK families, or latents for GENERATE families. The thread layout of a
folder run is measured later, on a probe of the run's first image's size
(:mod:`ganedit.infer.threads`), because its answer depends on that size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ganedit.devices import PrecisionChoice, autocast_for
from ganedit.family import Kind, ModelFamily
from ganedit.infer.options import check_memory_format
from ganedit.measured import (
    FORMATS,
    FormatChoice,
    measured_choice,
    net_digest,
    recalled,
    to_format,
)

__all__ = [
    "GUARD_MAX_LEVELS",
    "GUARD_MEAN_LEVELS",
    "GUARD_SAMPLES",
    "GUARD_STAT_LEVELS",
    "PROBE_SIDE",
    "FormatChoice",
    "choose_model_settings",
    "probe_inputs",
    "quality_guard",
    "to_format",
]

PROBE_SIDE = 64
GUARD_MAX_LEVELS = 2.0
GUARD_MEAN_LEVELS = 0.5
GUARD_STAT_LEVELS = 1.0
GUARD_SAMPLES = 16


def _pink_noise(gen: torch.Generator, channels: int, side: int) -> torch.Tensor:
    """``(1, channels, side, side)`` float32 in [0, 1]: octaves of bilinearly upsampled
    uniform noise, each octave's amplitude halving with its frequency (1/f)."""
    total = torch.zeros(1, channels, side, side)
    cells, weight = 2, 1.0
    while cells <= side:
        grid = torch.rand(1, channels, cells, cells, generator=gen)
        total += weight * F.interpolate(
            grid, size=(side, side), mode="bilinear", align_corners=False
        )
        cells, weight = cells * 2, weight / 2
    lo, hi = total.amin(), total.amax()
    return (total - lo) / (hi - lo).clamp_min(1e-6)


def probe_inputs(
    family: ModelFamily,
    config: object,
    device: torch.device,
    side: int = PROBE_SIDE,
    samples: int = 1,
) -> dict[str, torch.Tensor]:
    """Inputs of the family's kind on ``device`` (fixed seed).

    Returns:
        ``{"latent": ...}`` with ``samples`` latents for GENERATE; else ``{"image": (1,
        C_in, S, S)}`` float32 1/f noise in [0, 1] (``S``: ``side`` rounded up to the size
        multiple), plus ``"mask": (1, 1, S, S)`` (1 = a square hole) for IMAGE_MASK.
    """
    gen = torch.Generator().manual_seed(0)
    if family.kind is Kind.GENERATE:
        return {"latent": family.latent(max(1, samples), config, gen).to(device)}
    io = family.io(config)
    m = max(1, io.size_multiple)
    side = -(-max(1, int(side)) // m) * m
    inputs = {"image": _pink_noise(gen, io.in_channels, side).to(device)}
    if family.kind is Kind.IMAGE_MASK:
        mask = torch.zeros(1, 1, side, side)
        mask[..., side // 4 : side // 2, side // 4 : side // 2] = 1
        inputs["mask"] = mask.to(device)
    return inputs


def _forward(
    family: ModelFamily, config: object, net: torch.nn.Module, inputs: dict[str, torch.Tensor],
    device: torch.device, precision: PrecisionChoice,
) -> torch.Tensor:  # fmt: skip
    with torch.no_grad(), autocast_for(device, precision):
        return family.predict(net, inputs, config).float()


def quality_guard(
    family: ModelFamily,
    config: object,
    net: torch.nn.Module,
    device: torch.device,
    reduced: PrecisionChoice,
) -> tuple[bool, str]:
    """Whether ``reduced`` keeps ``net``'s output within the guard of its fp32 output
    (module docstring), and what was seen, e.g. ``"max 1 level, mean 0.08: within max 2 /
    mean 0.5"``."""
    generate = family.kind is Kind.GENERATE
    inputs = probe_inputs(family, config, device, samples=GUARD_SAMPLES if generate else 1)
    ref = _forward(family, config, net, inputs, device, PrecisionChoice("fp32", torch.float32))
    out = _forward(family, config, net, inputs, device, reduced)
    if not torch.isfinite(out).all():
        return False, "output not finite"
    ref, out = ref.clamp(0, 1) * 255, out.clamp(0, 1) * 255
    if generate:
        dims = (0, 2, 3)
        dmean = (ref.mean(dims) - out.mean(dims)).abs().max().item()
        dstd = (ref.std(dims) - out.std(dims)).abs().max().item()
        ok = dmean <= GUARD_STAT_LEVELS and dstd <= GUARD_STAT_LEVELS
        seen = f"{GUARD_SAMPLES} samples' channel mean {dmean:.2f}, std {dstd:.2f} levels apart"
        return ok, f"{seen}: {'within' if ok else 'beyond'} {GUARD_STAT_LEVELS:g}"
    levels = (ref.round() - out.round()).abs()
    worst, mean = levels.max().item(), levels.mean().item()
    ok = worst <= GUARD_MAX_LEVELS and mean <= GUARD_MEAN_LEVELS
    return ok, (
        f"max {worst:.0f} levels, mean {mean:.2f}: {'within' if ok else 'beyond'} "
        f"max {GUARD_MAX_LEVELS:g} / mean {GUARD_MEAN_LEVELS:g}"
    )


def _job(
    family: ModelFamily, config: object, net: torch.nn.Module, device: torch.device,
    precisions: dict[str, PrecisionChoice],
) -> Callable[[str], object]:  # fmt: skip
    """``job("bf16/channels_last")``: converts ``net`` and runs the probe once that way."""
    inputs = probe_inputs(family, config, device)

    def job(name: str) -> object:
        prec, fmt = name.split("/")
        channels_last = fmt == "channels_last"
        net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)  # type: ignore[call-overload]
        probe = {k: to_format(v, channels_last) for k, v in inputs.items()}
        return _forward(family, config, net, probe, device, precisions[prec])

    return job


def choose_model_settings(
    family: ModelFamily,
    config: object,
    net: torch.nn.Module,
    generator_name: str,
    device: torch.device,
    precisions: Sequence[PrecisionChoice],
    memory_format: str = "auto",
) -> tuple[FormatChoice, PrecisionChoice]:
    """Choose (measure, or recall) ``net``'s memory format and precision; convert ``net``.

    Args:
        family, config: the family and its resolved Config (the probe's shape and
            :meth:`~ganedit.ModelFamily.predict`).
        net: the generator, in eval mode, on ``device``; converted in place.
        generator_name: its name in ``family.generators`` (part of the cache key).
        device: where it runs (the probe runs there).
        precisions: the candidates, fp32 first when there are several
            (:func:`ganedit.devices.precision_candidates`).
        memory_format: ``"auto"`` (measure or recall), ``"channels_last"`` or
            ``"contiguous"``.

    Returns:
        The :class:`~ganedit.measured.FormatChoice` now applied to ``net`` and the
        :class:`~ganedit.devices.PrecisionChoice` to run it with.
    """
    requested = check_memory_format(memory_format)
    formats = FORMATS if requested == "auto" else (requested,)
    if len(formats) * len(precisions) == 1:
        net.to(memory_format=FormatChoice(requested, "requested").memory_format)  # type: ignore[call-overload]
        return FormatChoice(requested, "requested"), precisions[0]
    by_name = {p.name: p for p in precisions}
    names = [f"{p}/{f}" for p in by_name for f in formats]
    key = f"infer|{family.name}/{generator_name}/{net_digest(net)}|{'+'.join(by_name)}"
    key += "" if requested == "auto" else f"|{requested}"
    guard: dict[str, str] = {}
    if recalled(key, names, device) is None:
        for p in precisions[1:]:
            ok, guard[p.name] = quality_guard(family, config, net, device, p)
            if not ok:
                names = [n for n in names if not n.startswith(f"{p.name}/")]
    best, source, seconds = measured_choice(
        key, names, _job(family, config, net, device, by_name), device
    )
    prec, fmt = best.split("/")
    fmt_seconds = {f: seconds[f"{prec}/{f}"] for f in formats if f"{prec}/{f}" in seconds}
    memory = FormatChoice(fmt, source if requested == "auto" else "requested", fmt_seconds)
    net.to(memory_format=memory.memory_format)  # type: ignore[call-overload]
    chosen = by_name[prec]
    if len(precisions) > 1:
        chosen = chosen.chosen(source, seconds=dict(seconds), guard=guard)
    return memory, chosen


def editor_settings(editor: Any) -> tuple[FormatChoice, PrecisionChoice]:
    """:func:`choose_model_settings` for an :class:`~ganedit.infer.editor.Editor`'s generator,
    its precision candidates and its ``memory_format`` option."""
    return choose_model_settings(
        editor.family,
        editor.config,
        editor.generator,
        editor.generator_name,
        editor.device,
        editor.precisions,
        editor.memory_format,
    )
