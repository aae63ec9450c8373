"""ganedit: GAN image editing as plugins over one engine and one I/O layer.

Quick use::

    import ganedit
    up = ganedit.load("srgan")                 # bundled weights
    img = ganedit.read_image("cat.png")        # HxWxC uint8/uint16 RGB(A)
    ganedit.write_image("cat_x4.png", up(img))

The names below are the whole public API; plugins use nothing else (plus the public
sub-modules :mod:`ganedit.io`, :mod:`ganedit.nn`, :mod:`ganedit.engine`, :mod:`ganedit.testing`).
Heavy modules are imported on first use so ``ganedit --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganedit.hookspecs import hookimpl
from ganedit.lazy import lazy_exports

__version__ = "0.1.0"

#: The sub-modules of ``ganedit`` that are public API, besides ``ganedit`` itself: a plugin
#: imports only these (and only the names in each one's ``__all__``); the docs list them and
#: :func:`ganedit.testing.plugin_imports_only_public` checks it.
PUBLIC_MODULES = frozenset(
    {
        "ganedit.config",
        "ganedit.data",
        "ganedit.engine",
        "ganedit.family",
        "ganedit.hookspecs",
        "ganedit.importing",
        "ganedit.infer",
        "ganedit.io",
        "ganedit.metrics",
        "ganedit.nn",
        "ganedit.testing",
        "ganedit.weights",
    }
)

_LAZY: dict[str, str] = {
    # models and plugins
    "ModelFamily": "ganedit.family",
    "Kind": "ganedit.family",
    "IOSpec": "ganedit.family",
    "Tiling": "ganedit.family",
    "TilingMode": "ganedit.family",
    "Step": "ganedit.family",
    "EvalResult": "ganedit.family",
    "list_models": "ganedit.plugins",
    "get_family": "ganedit.plugins",
    "plugin_records": "ganedit.plugins",
    # scripting
    "load": "ganedit.infer",
    "Editor": "ganedit.infer",
    "run_folder": "ganedit.infer",
    "RunReport": "ganedit.infer",
    "RunOptions": "ganedit.infer",
    "train": "ganedit.training",
    "Engine": "ganedit.engine",
    "fit": "ganedit.engine",
    # images and weights
    "read_image": "ganedit.io",
    "write_image": "ganedit.io",
    "ImageReadError": "ganedit.io",
    "ImageWriteError": "ganedit.io",
    "save_weights": "ganedit.weights",
    "load_weights": "ganedit.weights",
    "WeightsError": "ganedit.weights",
    "ConfigError": "ganedit.config",
}

__all__ = ["PUBLIC_MODULES", "__version__", "hookimpl", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)


if TYPE_CHECKING:  # pragma: no cover
    # re-exported through __all__ (built from _LAZY, which ruff cannot see)
    from ganedit.config import ConfigError  # noqa: F401
    from ganedit.engine import Engine, fit  # noqa: F401
    from ganedit.family import (  # noqa: F401
        EvalResult,
        IOSpec,
        Kind,
        ModelFamily,
        Step,
        Tiling,
        TilingMode,
    )
    from ganedit.infer import Editor, RunOptions, RunReport, load, run_folder  # noqa: F401
    from ganedit.io import ImageReadError, ImageWriteError, read_image, write_image  # noqa: F401
    from ganedit.plugins import get_family, list_models, plugin_records  # noqa: F401
    from ganedit.training import train  # noqa: F401
    from ganedit.weights import WeightsError, load_weights, save_weights  # noqa: F401
