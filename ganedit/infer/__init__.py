"""Inference: :func:`load` and its :class:`Editor`, folder runs (:func:`run_folder`,
:class:`RunReport`, :class:`RunOptions`) and tiling (:func:`tiled_forward`).

One job per module: ``editor`` (what :func:`load` returns), ``loading`` (:func:`load`),
``options`` (every run option, declared once), ``plan`` (tiling policy, tile and batch plan,
out-of-memory back-off), ``layouts`` (gray / RGB / RGBA / 16-bit), ``jobs`` (one file:
decode + mask), ``outputs`` (output paths, writes, temp files), ``pipeline`` (decode ->
device -> encode), ``runner`` (:func:`run_folder`), ``tiling``, ``resize`` (strip-wise
resizing), ``ensemble``, ``report``, ``resume`` (what ``skip_existing`` redoes), ``lock``
(the output-folder lock), ``signals`` (Ctrl-C / SIGTERM), ``limits`` (limits and
environment variables), ``process`` (:func:`process_items`, the engine-agnostic seam: items in,
records out; :func:`merge_manifests`), ``records`` (the driver's one record per input),
``executors`` (:class:`Executor`: where the files are processed; ``local`` built in).

Names are imported lazily, so ``import ganedit.infer`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganedit.lazy import lazy_exports

__all__ = [
    "Editor",
    "Executor",
    "ExecutorOptions",
    "ExecutorUnavailable",
    "ItemProcessor",
    "LoadSpec",
    "RunInterrupted",
    "RunOptions",
    "RunReport",
    "WorkOrder",
    "list_executors",
    "load",
    "merge_manifests",
    "process_items",
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
    "Executor": "ganedit.infer.executors",
    "ExecutorOptions": "ganedit.infer.executors",
    "ExecutorUnavailable": "ganedit.infer.executors",
    "LoadSpec": "ganedit.infer.executors",
    "WorkOrder": "ganedit.infer.executors",
    "list_executors": "ganedit.infer.executors",
    "ItemProcessor": "ganedit.infer.process",
    "merge_manifests": "ganedit.infer.process",
    "process_items": "ganedit.infer.process",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.editor import Editor
    from ganedit.infer.executors import (
        Executor,
        ExecutorOptions,
        ExecutorUnavailable,
        LoadSpec,
        WorkOrder,
        list_executors,
    )
    from ganedit.infer.loading import load
    from ganedit.infer.options import RunOptions
    from ganedit.infer.process import ItemProcessor, merge_manifests, process_items
    from ganedit.infer.report import RunReport
    from ganedit.infer.runner import run_folder
    from ganedit.infer.signals import RunInterrupted
    from ganedit.infer.tiling import tiled_forward
