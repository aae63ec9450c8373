"""ganedit's super-resolution plugin: the ``srgan`` family (SRResNet/SRGAN, x2 and x4).

Written as a third-party plugin would be: it uses only ganedit's public API. See README.md
for the paper, the departures from it and the bundled weights.
"""

from __future__ import annotations

from collections.abc import Callable

import ganedit


@ganedit.hookimpl
def ganedit_register_models(register: Callable[[type], None]) -> None:
    """Register :class:`ganedit_srgan.family.SRGAN`."""
    from ganedit_srgan.family import SRGAN

    register(SRGAN)
