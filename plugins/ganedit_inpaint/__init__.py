"""ganedit's inpainting plugin: the ``inpaint`` family (LaMa-style, Suvorov et al. 2022) and
the ``inpaint-sheet`` command (before | mask | after contact sheets).

Written as a third-party plugin would be: it uses only ganedit's public API. See README.md
for the paper, the departures from it and the bundled weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ganedit


@ganedit.hookimpl
def ganedit_register_models(register: Callable[[type], None]) -> None:
    """Register :class:`ganedit_inpaint.family.Inpaint`."""
    from ganedit_inpaint.family import Inpaint

    register(Inpaint)


@ganedit.hookimpl
def ganedit_train_callbacks(family: Any, config: Any) -> list[Any]:
    """The fill monitor (:class:`ganedit_inpaint.monitor.FillMonitor`) for ``inpaint`` runs
    with ``monitor_data`` set; nothing for other families."""
    if getattr(family, "name", None) != "inpaint" or not getattr(config, "monitor_data", ""):
        return []
    from ganedit_inpaint.monitor import FillMonitor

    return [FillMonitor()]


@ganedit.hookimpl
def ganedit_register_commands(cli: Any) -> None:
    """Add ``ganedit inpaint-sheet`` (:mod:`ganedit_inpaint.sheet`)."""
    from ganedit_inpaint.sheet import sheet_command

    cli.add_command(sheet_command, name="inpaint-sheet")
