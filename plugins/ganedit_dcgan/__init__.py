"""ganedit's DCGAN plugin (Radford et al. 2015): registers the ``dcgan`` family.

Written exactly as a third-party plugin: it uses only ``ganedit``'s public names and modules.
"""

from __future__ import annotations

import ganedit


@ganedit.hookimpl
def ganedit_register_models(register):  # type: ignore[no-untyped-def]
    """Register :class:`ganedit_dcgan.family.DCGAN`."""
    from ganedit_dcgan.family import DCGAN

    register(DCGAN)
