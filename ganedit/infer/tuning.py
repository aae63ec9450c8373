"""The memory format a generator runs fastest in on this device, measured, not assumed.

channels_last (NHWC) is faster for most convnets on CUDA, and on this project's 2-core CPU it
measured 2-3x faster for the SRResNet generator, but not for every network (an instance-norm
ResNet measured the same in both). So :func:`choose_memory_format` times the generator on a
small probe input in each format and keeps the faster one. The choice is remembered in the
process and in a small JSON file (``$GANEDIT_CACHE_DIR/memory-formats.json``, default
``~/.cache/ganedit``), keyed by the machine, torch, device, precision, family, generator and
the generator's parameter shapes: a second ``ganedit run`` on the same machine measures
nothing. An unwritable cache is ignored (the choice is then measured once per process).

The probe: one ``(1, in_channels, S, S)`` image (``S``: the smallest multiple of the family's
``size_multiple`` that is at least :data:`PROBE_SIDE`) plus a ``(1, 1, S, S)`` mask for
IMAGE_MASK families, or one latent for GENERATE families; each format runs once to warm up,
then :data:`PROBE_RUNS` timed runs, alternating, the best of each kept (srgan x4 on the
2-core CPU: about 1 s in all, once per machine). Both formats give the same pixels (up to
float rounding): only the memory layout differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganedit.devices import PrecisionChoice, autocast_for
from ganedit.family import Kind, ModelFamily
from ganedit.infer.options import MEMORY_FORMATS, check_memory_format

__all__ = [
    "MEMORY_FORMATS",
    "FormatChoice",
    "cache_path",
    "check_memory_format",
    "choose_memory_format",
    "to_format",
]

PROBE_SIDE = 32
PROBE_RUNS = 2
_SEEN: dict[str, FormatChoice] = {}


@dataclass(frozen=True)
class FormatChoice:
    """Which memory format a generator runs in, and why.

    Attributes:
        name: ``"channels_last"`` or ``"contiguous"``.
        source: ``"measured"``, ``"cached"`` (measured earlier on this machine) or
            ``"requested"`` (fixed by the user's option).
        seconds: the best probe time per format (empty when not measured here or in the cache).
    """

    name: str
    source: str
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def channels_last(self) -> bool:
        return self.name == "channels_last"

    def describe(self) -> str:
        """One line for notes and manifests, e.g. ``channels_last (measured: 0.12 s vs 0.31 s)``."""
        if not {"channels_last", "contiguous"} <= set(self.seconds):
            return f"{self.name} ({self.source})"
        other = "contiguous" if self.channels_last else "channels_last"
        return (
            f"{self.name} ({self.source}: {self.seconds[self.name]:.3g} s vs "
            f"{self.seconds[other]:.3g} s {other} per probe)"
        )


def to_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in channels_last when asked and 4-d, else unchanged."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def cache_path() -> Path:
    """``$GANEDIT_CACHE_DIR/memory-formats.json`` (default ``~/.cache/ganedit``)."""
    root = os.environ.get("GANEDIT_CACHE_DIR") or Path.home() / ".cache" / "ganedit"
    return Path(root) / "memory-formats.json"


def _key(
    family: ModelFamily, name: str, net: torch.nn.Module, device: torch.device, prec: str
) -> str:
    shapes = ";".join(f"{k}:{tuple(v.shape)}" for k, v in net.state_dict().items())
    digest = hashlib.sha256(shapes.encode()).hexdigest()[:16]
    where = device.type
    if device.type == "cuda":
        where = torch.cuda.get_device_name(device)
    cpu = f"{platform.machine()}-{platform.processor()}-{os.cpu_count()}-t{torch.get_num_threads()}"
    return f"{family.name}/{name}/{digest}|{where}|{prec}|{cpu}|torch {torch.__version__}"


def _read_cache() -> dict[str, dict]:
    try:
        doc = json.loads(cache_path().read_text(encoding="utf-8"))
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, choice: FormatChoice) -> None:
    path = cache_path()
    doc = _read_cache()
    doc[key] = {"name": choice.name, "seconds": dict(choice.seconds)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: measure again next time


def _probe_inputs(family: ModelFamily, config: object, device: torch.device) -> dict:
    """One small input of the family's kind, on ``device`` (fixed seed)."""
    gen = torch.Generator().manual_seed(0)
    if family.kind is Kind.GENERATE:
        return {"latent": family.latent(1, config, gen).to(device)}
    io = family.io(config)
    m = max(1, io.size_multiple)
    side = -(-PROBE_SIDE // m) * m
    inputs = {"image": torch.rand(1, io.in_channels, side, side, generator=gen).to(device)}
    if family.kind is Kind.IMAGE_MASK:
        mask = torch.zeros(1, 1, side, side)
        mask[..., side // 4 : side // 2, side // 4 : side // 2] = 1
        inputs["mask"] = mask.to(device)
    return inputs


def _measure(
    family: ModelFamily,
    config: object,
    net: torch.nn.Module,
    device: torch.device,
    precision: PrecisionChoice,
) -> dict[str, float]:
    """Best seconds per format; the formats alternate so that a busy machine slows both."""
    inputs = _probe_inputs(family, config, device)
    seconds = {"contiguous": float("inf"), "channels_last": float("inf")}
    for i in range(PROBE_RUNS + 1):
        for name in seconds:
            cl = name == "channels_last"
            net.to(memory_format=torch.channels_last if cl else torch.contiguous_format)  # type: ignore[call-overload]
            probe = {k: to_format(v, cl) for k, v in inputs.items()}
            t0 = time.perf_counter()
            with torch.no_grad(), autocast_for(device, precision):
                family.predict(net, probe, config)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i:  # the first round warms up
                seconds[name] = min(seconds[name], time.perf_counter() - t0)
    return seconds


def choose_memory_format(
    family: ModelFamily,
    config: object,
    net: torch.nn.Module,
    generator_name: str,
    device: torch.device,
    precision: PrecisionChoice,
    requested: str = "auto",
) -> FormatChoice:
    """Choose (measure, or recall) ``net``'s memory format and convert ``net`` to it.

    Args:
        family, config: the family and its resolved Config (for the probe's shape and
            :meth:`~ganedit.ModelFamily.predict`).
        net: the generator, in eval mode, on ``device``; converted in place.
        generator_name: its name in ``family.generators`` (part of the cache key).
        device, precision: where and how it runs (the probe runs the same way).
        requested: ``"auto"`` (measure or recall), ``"channels_last"`` or ``"contiguous"``.

    Returns:
        The :class:`FormatChoice` now applied to ``net``.
    """
    requested = check_memory_format(requested)
    if requested != "auto":
        choice = FormatChoice(requested, "requested")
    else:
        key = _key(family, generator_name, net, device, precision.name)
        known = _SEEN.get(key) or _cached(key)
        if known is None:
            seconds = _measure(family, config, net, device, precision)
            known = FormatChoice(min(seconds, key=seconds.__getitem__), "measured", seconds)
            _write_cache(key, known)
        choice = _SEEN[key] = known
    fmt = torch.channels_last if choice.channels_last else torch.contiguous_format
    net.to(memory_format=fmt)  # type: ignore[call-overload]
    return choice


def _cached(key: str) -> FormatChoice | None:
    entry = _read_cache().get(key)
    if not isinstance(entry, dict) or entry.get("name") not in ("channels_last", "contiguous"):
        return None
    seconds = entry.get("seconds") or {}
    return FormatChoice(str(entry["name"]), "cached", {k: float(v) for k, v in seconds.items()})
