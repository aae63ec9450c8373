"""The memory format a generator runs inference in: measured on a small probe, not assumed.

:func:`choose_memory_format` times the generator on a probe input in NCHW and in
channels_last through :func:`ganedit.formats.measured_format` (remembered per machine in
``~/.cache/ganedit``) and converts it to the faster layout, unless an option fixes one.

The probe: one ``(1, in_channels, S, S)`` image (``S``: the smallest multiple of the family's
``size_multiple`` that is at least :data:`PROBE_SIDE`) plus a ``(1, 1, S, S)`` mask for
IMAGE_MASK families, or one latent for GENERATE families; one warm-up round, then two timed
runs of each format, alternating (srgan x4 on the 2-core CPU: about 1 s in all, once per
machine). Both layouts give the same pixels up to float rounding.
"""

from __future__ import annotations

import torch

from ganedit.devices import PrecisionChoice, autocast_for
from ganedit.family import Kind, ModelFamily
from ganedit.formats import FormatChoice, measured_format, net_digest, to_format
from ganedit.infer.options import check_memory_format

__all__ = ["PROBE_SIDE", "FormatChoice", "choose_memory_format", "probe_inputs", "to_format"]

PROBE_SIDE = 32


def probe_inputs(
    family: ModelFamily, config: object, device: torch.device, side: int = PROBE_SIDE
) -> dict[str, torch.Tensor]:
    """One input of the family's kind on ``device`` (fixed seed): a latent, or a square
    image of ``side`` (rounded up to the size multiple) float32 in [0, 1], with a mask
    (``(1, 1, S, S)``, a square hole) for IMAGE_MASK."""
    gen = torch.Generator().manual_seed(0)
    if family.kind is Kind.GENERATE:
        return {"latent": family.latent(1, config, gen).to(device)}
    io = family.io(config)
    m = max(1, io.size_multiple)
    side = -(-max(1, int(side)) // m) * m
    inputs = {"image": torch.rand(1, io.in_channels, side, side, generator=gen).to(device)}
    if family.kind is Kind.IMAGE_MASK:
        mask = torch.zeros(1, 1, side, side)
        mask[..., side // 4 : side // 2, side // 4 : side // 2] = 1
        inputs["mask"] = mask.to(device)
    return inputs


def choose_memory_format(
    family: ModelFamily,
    config: object,
    net: torch.nn.Module,
    generator_name: str,
    device: torch.device,
    precision: PrecisionChoice,
    requested: str = "auto",
) -> FormatChoice:
    """Choose (measure, or recall) ``net``'s inference memory format and convert ``net``.

    Args:
        family, config: the family and its resolved Config (the probe's shape and
            :meth:`~ganedit.ModelFamily.predict`).
        net: the generator, in eval mode, on ``device``; converted in place.
        generator_name: its name in ``family.generators`` (part of the cache key).
        device, precision: where and how it runs (the probe runs the same way).
        requested: ``"auto"`` (measure or recall), ``"channels_last"`` or ``"contiguous"``.

    Returns:
        The :class:`~ganedit.formats.FormatChoice` now applied to ``net``.
    """
    requested = check_memory_format(requested)
    if requested != "auto":
        choice = FormatChoice(requested, "requested")
    else:
        inputs = probe_inputs(family, config, device)

        def job(channels_last: bool) -> object:
            net.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)  # type: ignore[call-overload]
            probe = {k: to_format(v, channels_last) for k, v in inputs.items()}
            with torch.no_grad(), autocast_for(device, precision):
                return family.predict(net, probe, config)

        key = f"infer|{family.name}/{generator_name}/{net_digest(net)}|{precision.name}"
        choice = measured_format(key, job, device)
    net.to(memory_format=choice.memory_format)  # type: ignore[call-overload]
    return choice
