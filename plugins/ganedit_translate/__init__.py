"""ganedit's image-to-image translation plugin: ``pix2pix``, ``cyclegan`` and ``cut``.

pix2pix (Isola et al. 2017) learns from aligned pairs; CycleGAN (Zhu et al. 2017) and CUT
(Park et al. 2020) from two unpaired domains. Written exactly as a third-party plugin: it uses only ``ganedit``'s public
names and modules (the Fashion-MNIST classifier of its figures is ``ganedit.metrics``'). It also
adds the ``ganedit edges`` command (Canny edge maps, the bundled pix2pix weights' inputs).
"""

from __future__ import annotations

import ganedit


@ganedit.hookimpl
def ganedit_register_models(register):  # type: ignore[no-untyped-def]
    """Register :class:`~ganedit_translate.pix2pix.Pix2Pix`,
    :class:`~ganedit_translate.cyclegan.CycleGAN` and :class:`~ganedit_translate.cut.CUT`."""
    from ganedit_translate.cut import CUT
    from ganedit_translate.cyclegan import CycleGAN
    from ganedit_translate.pix2pix import Pix2Pix

    register(Pix2Pix)
    register(CycleGAN)
    register(CUT)


@ganedit.hookimpl
def ganedit_register_commands(cli):  # type: ignore[no-untyped-def]
    """Add ``ganedit edges`` (see :mod:`ganedit_translate.commands`)."""
    from ganedit_translate.commands import edges_command

    cli.add_command(edges_command)


@ganedit.hookimpl
def ganedit_register_importers(register):  # type: ignore[no-untyped-def]
    """``ganedit import --to pix2pix|cyclegan`` for the reference implementation's generators
    (see :mod:`ganedit_translate.importers`)."""
    from ganedit_translate.importers import import_cyclegan, import_pix2pix

    register("pix2pix", import_pix2pix)
    register("cyclegan", import_cyclegan)
