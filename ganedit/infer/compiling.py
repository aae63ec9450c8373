"""``torch.compile`` for a folder run's generator: off by default, kept only where it is faster.

On the project's 2-core CPU, Inductor-compiled SRResNet x4 first measured slower than eager
channels_last (1.06-1.09 s against 0.88-0.99 s per 256x256 input, with and without weight
freezing); with srgan's inference form and the heap reuse of :mod:`ganedit.hostmem` the two
are level (0.566 s compiled, 0.574 s eager), while compiling costs about 4 s per process with
Inductor's disk cache warm and 15-40 s without it. So ``compile="off"`` is the default.
``"auto"`` times eager against compiled on a probe of the run's image size once per machine
(:func:`ganedit.formats.measured_choice`, remembered in ``~/.cache/ganedit/measurements.json``)
and keeps the faster; ``"on"`` compiles without asking. A compile that fails (no C++
compiler, an unsupported op) leaves the generator eager, with a note saying why; it never
fails the images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ganedit.devices import autocast_for
from ganedit.formats import measured_choice, net_digest, recalled
from ganedit.infer.options import check_compile
from ganedit.infer.threads import PROBE_SIDE, editor_probe

__all__ = ["CANDIDATES", "CompileChoice", "choose_compile"]

CANDIDATES = ("eager", "compiled")


@dataclass(frozen=True)
class CompileChoice:
    """Whether the generator runs compiled, and why.

    Attributes:
        name: ``"compiled"`` or ``"eager"``.
        source: ``"off"``, ``"requested"``, ``"measured"``, ``"cached"`` or ``"failed"``.
        seconds: the best probe time per candidate (empty when not measured).
        note: why compiling was given up (``source == "failed"``), else ``None``.
    """

    name: str
    source: str
    seconds: dict[str, float] = field(default_factory=dict)
    note: str | None = None

    def describe(self) -> str:
        """One line for the manifest, e.g. ``eager (measured: compiled 1.06 s, eager 0.88 s)``."""
        if self.note:
            return f"{self.name} ({self.note})"
        if not self.seconds:
            return f"{self.name} ({self.source})"
        times = ", ".join(f"{k} {v:.3g} s" for k, v in sorted(self.seconds.items()))
        return f"{self.name} ({self.source}: {times})"


def _runner(editor: Any, net: Any, side: int) -> Any:
    inputs = editor_probe(editor, side)

    def run() -> None:
        with torch.no_grad(), autocast_for(editor.device, editor.precision):
            editor.family.predict(net, inputs, editor.config)

    return run


def choose_compile(editor: Any, requested: str = "off", side: int = PROBE_SIDE) -> CompileChoice:
    """Compile ``editor.generator`` in place when asked and (for ``"auto"``) faster.

    Args:
        editor: the loaded :class:`~ganedit.infer.editor.Editor` (memory format chosen).
        requested: ``"off"``, ``"auto"`` or ``"on"``.
        side: the probe's side (the size of the run's images; part of the cache key).

    Returns:
        The :class:`CompileChoice`; with ``name == "compiled"``, ``editor.generator`` is now
        the compiled module (already compiled for the probe's shape).
    """
    requested = check_compile(requested)
    if requested == "off":
        return CompileChoice("eager", "off")
    eager = editor.generator
    key = (
        f"compile|{editor.family.name}/{editor.generator_name}/{net_digest(eager)}"
        f"|{editor.precision.name}|{editor.memory.name}|{side}px"
    )
    known = recalled(key, CANDIDATES, editor.device) if requested == "auto" else None
    if known is not None and known[0] == "eager":  # measured slower before: do not compile
        return CompileChoice("eager", known[1], known[2])
    compiled = torch.compile(eager)
    try:
        _runner(editor, compiled, side)()  # compile now: an error here must not fail the images
    except Exception as exc:  # noqa: BLE001 - any compiler failure means: stay eager
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return CompileChoice(
            "eager", "failed", note=f"torch.compile failed, running eager: {first}"
        )
    seconds: dict[str, float] = {}
    name, source = "compiled", "requested"
    if requested == "auto":
        runs = {"eager": _runner(editor, eager, side), "compiled": _runner(editor, compiled, side)}
        name, source, seconds = measured_choice(key, CANDIDATES, lambda c: runs[c](), editor.device)
    if name == "compiled":
        editor.generator = compiled
    return CompileChoice(name, source, seconds)
