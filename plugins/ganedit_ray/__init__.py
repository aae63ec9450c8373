"""ganedit's Ray executor: ``ganedit run MODEL IN OUT --executor ray`` (the ``ganedit[ray]``
extra).

Written as a third-party plugin would be: it uses only ganedit's public API, and imports Ray
only when a run chooses it. See README.md for how it works and what it promises.
"""

from __future__ import annotations

from collections.abc import Callable

import ganedit


@ganedit.hookimpl
def ganedit_register_executors(register: Callable[[str, type], None]) -> None:
    """Register :class:`ganedit_ray.executor.RayExecutor` as ``ray``."""
    from ganedit_ray.executor import RayExecutor

    register("ray", RayExecutor)
