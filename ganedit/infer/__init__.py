"""Inference: :func:`load` and its :class:`Editor`, folder runs (:func:`run_folder`,
:class:`RunReport`, :class:`RunOptions`) and tiling (:func:`tiled_forward`).

One job per module: ``editor`` (what :func:`load` returns), ``loading`` (:func:`load`),
``options`` (every run option, declared once), ``plan`` (tiling policy, tile and batch plan,
out-of-memory back-off), ``layouts`` (gray / RGB / RGBA / 16-bit), ``jobs`` (one file:
decode + mask), ``outputs`` (output paths, writes, temp files), ``pipeline`` (decode ->
device -> encode), ``runner`` (:func:`run_folder`), ``tiling``, ``resize`` (strip-wise
resizing), ``ensemble``, ``report``, ``resume`` (what ``skip_existing`` redoes), ``lock``
(the output-folder lock), ``signals`` (Ctrl-C / SIGTERM), ``limits`` (limits and
environment variables).

Names are imported lazily, so ``import ganedit.infer`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Editor",
    "RunInterrupted",
    "RunOptions",
    "RunReport",
    "load",
    "run_folder",
    "tiled_forward",
]

_LAZY = {
    "Editor": "ganedit.infer.editor",
    "load": "ganedit.infer.loading",
    "RunOptions": "ganedit.infer.options",
    "RunReport": "ganedit.infer.report",
    "RunInterrupted": "ganedit.infer.signals",
    "run_folder": "ganedit.infer.runner",
    "tiled_forward": "ganedit.infer.tiling",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ganedit.infer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.editor import Editor
    from ganedit.infer.loading import load
    from ganedit.infer.options import RunOptions
    from ganedit.infer.report import RunReport
    from ganedit.infer.runner import run_folder
    from ganedit.infer.signals import RunInterrupted
    from ganedit.infer.tiling import tiled_forward
