"""Lazy re-exports for a package's ``__init__``: a name is imported from its module on first
use, so ``import ganedit`` (and ``ganedit --help``) stays fast.

Example (a package ``__init__.py``)::

    _LAZY = {"load": "ganedit.infer.loading"}
    __all__ = [*_LAZY]
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: the package's ``__name__``.
        table: public name -> the module that defines it.
        names: the package's ``__all__`` (what ``dir()`` lists).

    Returns:
        ``(__getattr__, __dir__)``: the first imports ``table[name]``, caches the value in the
        package's namespace and returns it (``AttributeError`` for a name not in ``table``).
    """

    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(names)

    return getattr_, dir_
