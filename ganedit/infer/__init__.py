"""Inference: :func:`load` and its :class:`Editor`, folder runs (:func:`run_folder`,
:class:`RunReport`, :class:`RunOptions`) and tiling (:func:`tiled_forward`).

Two halves. **Edit one image** (this package): ``editor`` (what :func:`load` returns),
``loading`` (:func:`load`), ``options`` (every run option, declared once), ``inputs`` (image
and mask checks), ``plan`` (tiling policy, tile and batch plan, out-of-memory back-off),
``tiling``, ``assemble`` (tiled edits into integers), ``layouts`` (gray / RGB / RGBA / 16-bit),
``resize`` (strip-wise resizing), ``ensemble``, ``autotune`` (memory format + precision),
``threads`` (cores per model call), ``limits`` (limits and environment variables).
**Run a folder** (:mod:`ganedit.infer.run`): ``runner`` (:func:`run_folder`), ``driver``,
``executors`` (:class:`Executor`), ``process`` (:func:`process_items`, the seam every executor
uses), ``pipeline``, ``model_stage``, ``transfer``, ``jobs``, ``outputs``, ``records``,
``report``, ``resume``, ``lock``, ``signals``. The first half never imports the second.

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
    "RunReport": "ganedit.infer.run.report",
    "RunInterrupted": "ganedit.infer.run.signals",
    "run_folder": "ganedit.infer.run.runner",
    "tiled_forward": "ganedit.infer.tiling",
    "Executor": "ganedit.infer.run.executors",
    "ExecutorOptions": "ganedit.infer.run.executors",
    "ExecutorUnavailable": "ganedit.infer.run.executors",
    "LoadSpec": "ganedit.infer.run.executors",
    "WorkOrder": "ganedit.infer.run.executors",
    "list_executors": "ganedit.infer.run.executors",
    "ItemProcessor": "ganedit.infer.run.process",
    "merge_manifests": "ganedit.infer.run.process",
    "process_items": "ganedit.infer.run.process",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.editor import Editor
    from ganedit.infer.loading import load
    from ganedit.infer.options import RunOptions
    from ganedit.infer.run.executors import (
        Executor,
        ExecutorOptions,
        ExecutorUnavailable,
        LoadSpec,
        WorkOrder,
        list_executors,
    )
    from ganedit.infer.run.process import ItemProcessor, merge_manifests, process_items
    from ganedit.infer.run.report import RunReport
    from ganedit.infer.run.runner import run_folder
    from ganedit.infer.run.signals import RunInterrupted
    from ganedit.infer.tiling import tiled_forward
