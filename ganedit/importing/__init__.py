"""The only place in ganedit that reads a pickle: a restricted reader for community
checkpoints and ``ganedit import``.

``torch.load`` (even with ``weights_only=True``) and ``torch.jit.load`` are never called.
:func:`read_checkpoint` unpickles ``data.pkl`` (zip layout) or the legacy layout with a
closed allow-list of local stand-ins (:mod:`~ganedit.importing.unpickler`), checks every
storage's size and every view's bounds, refuses TorchScript archives, big-endian files, zip
bombs and oversized pickles (:class:`Limits`), and finds the state dict under the usual
nesting. :func:`import_checkpoint` maps it onto a family's generators with the importer its
plugin registered (hook ``ganedit_register_importers``) and writes safetensors plus a card
(family, config, source files and sha256, detected layout, license, non_commercial).

Example::

    from ganedit.importing import import_checkpoint

    import_checkpoint("latest_net_G.pth", "facades.safetensors", to="pix2pix",
                      license="BSD-3-Clause")
    # ganedit run pix2pix photos/ out/ --weights facades.safetensors
"""

from ganedit.importing.archive import Limits
from ganedit.importing.importer import RAW_TARGET, import_checkpoint
from ganedit.importing.reader import NESTING_KEYS, SourceState, read_checkpoint
from ganedit.importing.registry import Mapped, importer_for, list_importers
from ganedit.importing.unpickler import LENIENT_PREFIXES, ImportRefused

__all__ = [
    "LENIENT_PREFIXES",
    "NESTING_KEYS",
    "RAW_TARGET",
    "ImportRefused",
    "Limits",
    "Mapped",
    "SourceState",
    "import_checkpoint",
    "importer_for",
    "list_importers",
    "read_checkpoint",
]
