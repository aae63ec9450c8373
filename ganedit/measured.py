"""Settings by measurement: time a job in each candidate setting, keep the fastest.

:func:`measured_choice` is the general form (inference's format and precision,
:mod:`ganedit.infer.autotune`; training's precision, :mod:`ganedit.engine.precision`);
:func:`measured_format` compares the two memory formats (:class:`FormatChoice`).

"Format" has one meaning per module name in ganedit: here and in
:mod:`ganedit.engine.memory_format` it is a tensor's *memory format* (contiguous NCHW or
channels_last NHWC); image *file* formats (PNG, JPEG, ...) belong to :mod:`ganedit.io`.

channels_last (NHWC) is faster for most convnets on CUDA, and on this project's 2-core CPU it
measured 2-3x faster for the SRResNet generator, but not for every network (an instance-norm
ResNet and the FFC inpainting generator measured no faster). So nothing assumes: callers give
:func:`measured_format` a job that runs their network once in the layout asked for, and a key
naming what is measured. The answer is remembered in the process and in a small JSON file
(``$GANEDIT_CACHE_DIR/measurements.json``, default ``~/.cache/ganedit``); the key also holds
the machine, torch and the thread count (:func:`machine_key`), so a second run on the same
machine measures nothing. An unwritable cache is ignored (measured once per process then).

Memory formats are used by inference (:mod:`ganedit.infer.autotune`: one forward pass on a
small probe, jointly with the precision) and by training
(:func:`ganedit.engine.memory_format.choose_training_format`: forward and backward on a batch).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = [
    "FORMATS",
    "FormatChoice",
    "cache_path",
    "machine_key",
    "measured_choice",
    "recalled",
    "measured_format",
    "net_digest",
    "to_format",
]

FORMATS = ("contiguous", "channels_last")
RUNS = 2  # timed runs per format after one warm-up round
_SEEN: dict[str, tuple[str, str, dict[str, float]]] = {}
_clock: Callable[[], float] = time.perf_counter  # tests put a fake clock here (no races)


@dataclass(frozen=True)
class FormatChoice:
    """Which memory format a network runs in, and why.

    Attributes:
        name: ``"channels_last"`` or ``"contiguous"``.
        source: ``"measured"``, ``"cached"`` (measured earlier on this machine) or
            ``"requested"`` (fixed by an option).
        seconds: the best time per format (empty when not measured).
    """

    name: str
    source: str
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def channels_last(self) -> bool:
        return self.name == "channels_last"

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def describe(self) -> str:
        """One line for notes and manifests, e.g. ``channels_last (measured: 0.12 s vs 0.31 s
        contiguous per probe)``."""
        if not set(FORMATS) <= set(self.seconds):
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
    """``$GANEDIT_CACHE_DIR/measurements.json`` (default ``~/.cache/ganedit``)."""
    root = os.environ.get("GANEDIT_CACHE_DIR") or Path.home() / ".cache" / "ganedit"
    return Path(root) / "measurements.json"


def net_digest(*nets: torch.nn.Module) -> str:
    """A short hash of the networks' parameter names and shapes (not values)."""
    shapes = ";".join(f"{k}:{tuple(v.shape)}" for net in nets for k, v in net.state_dict().items())
    return hashlib.sha256(shapes.encode()).hexdigest()[:16]


def machine_key(device: torch.device) -> str:
    """The device (GPU name on CUDA), CPU, core and thread counts and torch version."""
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    cpu = f"{platform.machine()}-{platform.processor()}-{os.cpu_count()}"
    return f"{where}|{cpu}-t{torch.get_num_threads()}|torch {torch.__version__}"


def _read_cache() -> dict[str, dict]:
    try:
        doc = json.loads(cache_path().read_text(encoding="utf-8"))
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, name: str, seconds: Mapping[str, float]) -> None:
    path = cache_path()
    doc = _read_cache()
    doc[key] = {"name": name, "seconds": dict(seconds)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: measure again next time


def _cached(key: str, candidates: Sequence[str]) -> tuple[str, str, dict[str, float]] | None:
    entry = _read_cache().get(key)
    if not isinstance(entry, dict) or entry.get("name") not in candidates:
        return None
    seconds = entry.get("seconds") or {}
    return str(entry["name"]), "cached", {k: float(v) for k, v in seconds.items()}


def _measure(
    job: Callable[[str], object],
    candidates: Sequence[str],
    device: torch.device,
    runs: int = RUNS,
) -> dict[str, float]:
    """Best seconds of ``job(candidate)`` per candidate over ``runs`` rounds; the candidates
    alternate so that a busy machine slows all alike; a first round warms up."""
    seconds = dict.fromkeys(candidates, float("inf"))
    for i in range(max(1, runs) + 1):
        for name in candidates:
            t0 = _clock()
            job(name)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i:
                seconds[name] = min(seconds[name], _clock() - t0)
    return seconds


def recalled(
    key: str, candidates: Sequence[str], device: torch.device
) -> tuple[str, str, dict[str, float]] | None:
    """What :func:`measured_choice` would recall for ``key`` without measuring, or ``None``."""
    full = f"{key}|{machine_key(device)}"
    return _SEEN.get(full) or _cached(full, candidates)


def measured_choice(
    key: str,
    candidates: Sequence[str],
    job: Callable[[str], object],
    device: torch.device,
    runs: int = RUNS,
) -> tuple[str, str, dict[str, float]]:
    """The fastest of ``candidates`` for ``key``: recalled (process, then file) or measured.

    Args:
        key: what is measured (family, network digest, precision, job kind); the machine is
            appended (:func:`machine_key`).
        candidates: the settings to compare (their names, e.g. ``"channels_last"``).
        job: ``job(candidate)`` applies that setting and runs the same work once.
        device: where ``job`` runs (CUDA is synchronised before each clock read).
        runs: timed rounds after the warm-up round (a costly job may take 1).

    Returns:
        ``(best, source, seconds)``: ``source`` is ``"measured"`` or ``"cached"``; ``seconds``
        the best time per candidate.
    """
    full = f"{key}|{machine_key(device)}"
    known = recalled(key, candidates, device)
    if known is None:
        seconds = _measure(job, candidates, device, runs)
        known = min(seconds, key=seconds.__getitem__), "measured", seconds
        _write_cache(full, known[0], known[2])
    _SEEN[full] = known
    return known


def measured_format(key: str, job: Callable[[bool], object], device: torch.device) -> FormatChoice:
    """The faster format for ``key``: recalled (process, then file) or measured with ``job``.

    Args:
        key: what is measured (family, network digest, precision, job kind); the machine is
            appended (:func:`machine_key`).
        job: ``job(channels_last)`` converts what it runs to that layout and runs it once.
        device: where ``job`` runs (CUDA is synchronised before each clock read).
    """
    name, source, seconds = measured_choice(
        key, FORMATS, lambda fmt: job(fmt == "channels_last"), device
    )
    return FormatChoice(name, source, seconds)
