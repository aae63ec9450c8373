"""ganedit's ``spandrel`` plugin: the community's super-resolution, restoration and
inpainting models (Real-ESRGAN, SwinIR, HAT, LaMa...) through the spandrel library
(optional extra ``ganedit[spandrel]``), imported safely with ``ganedit import ... --to
spandrel``. Without spandrel installed the families are listed but using them is a usage
error naming the extra. Written as a third-party plugin: public ganedit names only.
"""

from __future__ import annotations

import ganedit


@ganedit.hookimpl
def ganedit_register_models(register):  # type: ignore[no-untyped-def]
    """Register ``spandrel`` (image -> image) and ``spandrel-inpaint`` (image + mask)."""
    from ganedit_spandrel.family import Spandrel, SpandrelInpaint

    register(Spandrel)
    register(SpandrelInpaint)


@ganedit.hookimpl
def ganedit_register_importers(register):  # type: ignore[no-untyped-def]
    """``--to spandrel`` (either kind: the detected purpose picks the family)."""
    from ganedit_spandrel.importer import import_spandrel

    register("spandrel", import_spandrel)
    register("spandrel-inpaint", import_spandrel)
