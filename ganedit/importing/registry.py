"""The importers plugins register (hook ``ganedit_register_importers``), collected plugin by
plugin: a hook that raises registers nothing, a second registration of a family name is
refused; both are recorded in the plugin's ``ganedit plugins`` entry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Mapped", "Mapper", "importer_for", "list_importers"]


@dataclass
class Mapped:
    """What a mapper returns (see :func:`ganedit.hookspecs.ganedit_register_importers`).

    Attributes:
        generators: generator name -> its state dict in the family's own layout.
        config: Config fields read from the checkpoint (``{"width": 64, ...}``).
        layout: the detected model layout, recorded in the card (``"pix2pix unet_256"``).
        family: the family that runs these weights when it is not the ``--to`` name.
        non_commercial: the architecture's licence forbids commercial use.
        card: extra card fields (``{"architecture": "ESRGAN"}``).
    """

    generators: dict[str, dict[str, torch.Tensor]]
    config: dict[str, Any]
    layout: str
    family: str | None = None
    non_commercial: bool = False
    card: dict[str, Any] = field(default_factory=dict)


Mapper = Callable[[Sequence[Any], dict[str, str]], Mapped]

_LOCK = threading.Lock()
_CACHE: list[tuple[Any, dict[str, tuple[Mapper, str]]]] = []  # (plugin manager, importers)


def _collect() -> dict[str, tuple[Mapper, str]]:
    from ganedit.plugins import PluginError, get_plugin_manager, plugin_records

    pm = get_plugin_manager()
    with _LOCK:
        if _CACHE and _CACHE[0][0] is pm:
            return _CACHE[0][1]
        records = {r.name: r for r in plugin_records()}
        found: dict[str, tuple[Mapper, str]] = {}
        for impl in list(pm.hook.ganedit_register_importers.get_hookimpls()):
            rec = records.get(impl.plugin_name)
            mine: dict[str, tuple[Mapper, str]] = {}

            def register(
                name: str,
                mapper: Mapper,
                _p: str = impl.plugin_name,
                _mine: dict[str, tuple[Mapper, str]] = mine,
                _rec: Any = rec,
            ) -> None:
                problem = None
                if not isinstance(name, str) or not callable(mapper):
                    problem = f"register({name!r}, ...) needs a family name and a callable"
                elif name in found or name in _mine:
                    owner = (found.get(name) or _mine[name])[1]
                    problem = f"importer {name!r} is already registered by plugin {owner!r}"
                if problem is None:
                    _mine[name] = (mapper, _p)
                elif _rec is not None:
                    _rec.add_error(problem)

            try:
                impl.function(**{k: register for k in impl.argnames if k == "register"})
            except Exception as exc:  # noqa: BLE001 - one plugin must not break import
                if rec is not None:
                    rec.add_error(f"ganedit_register_importers raised {type(exc).__name__}: {exc}")
                import os

                if os.environ.get("GANEDIT_STRICT_PLUGINS", "") in ("1", "true", "yes"):
                    raise PluginError(f"plugin {impl.plugin_name!r}: {exc}") from exc
                continue
            found.update(mine)
        _CACHE[:] = [(pm, found)]
        return found


def list_importers() -> dict[str, str]:
    """Family name -> the plugin that registered its importer."""
    return {name: plugin for name, (_, plugin) in sorted(_collect().items())}


def importer_for(family: str) -> Mapper:
    """The mapper registered for ``family``.

    Raises:
        ganedit.config.ConfigError: no plugin registered one (the message lists those that did).
    """
    from ganedit.config import ConfigError

    found = _collect()
    if family not in found:
        known = ", ".join(sorted(found) + ["tensors"])
        raise ConfigError(f"no importer for {family!r}; --to accepts: {known}")
    return found[family][0]
