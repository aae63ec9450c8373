"""Folder inference: :func:`run_folder` and its :class:`RunReport`; tiling in
:mod:`ganedit.infer.tiling`.

Imported lazily so that :mod:`ganedit.editor` (which needs only the tiling) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["RunReport", "run_folder", "tiled_forward"]

_LAZY = {
    "run_folder": "ganedit.infer.runner",
    "RunReport": "ganedit.infer.report",
    "tiled_forward": "ganedit.infer.tiling",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ganedit.infer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    from ganedit.infer.report import RunReport
    from ganedit.infer.runner import run_folder
    from ganedit.infer.tiling import tiled_forward
