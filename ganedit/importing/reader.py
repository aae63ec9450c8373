"""One community checkpoint -> a flat state dict of tensors, read safely.

:func:`read_checkpoint` takes a ``torch.save`` file (zip or legacy layout, through the
restricted reader of :mod:`~ganedit.importing.archive`) or a ``.safetensors`` file, finds
the state dict inside the usual nesting (``params_ema``, ``params``, ``state_dict``,
``model``...), drops a common ``module.`` prefix, refuses NaN/Inf, and records where
everything came from (:class:`SourceState`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganedit.importing.archive import Limits, RawCheckpoint, read_archive
from ganedit.importing.unpickler import ImportRefused, Inert, TensorRef
from ganedit.weights import WeightsError, check_finite, file_sha256

__all__ = ["NESTING_KEYS", "SourceState", "read_checkpoint"]

#: Keys under which checkpoints nest their state dict, tried in this order.
NESTING_KEYS = (
    "model_state_dict",
    "state_dict",
    "params_ema",
    "params-ema",
    "params",
    "model",
    "net",
)
_LIGHTNING_KEYS = ("pytorch-lightning_version", "lightning_version", "optimizer_states", "loops")
_PREFIXES = ("module.", "netG.")
_MAX_DEPTH = 8


@dataclass
class SourceState:
    """A community checkpoint, read.

    Attributes:
        path: the file.
        sha256: its hex sha256.
        layout: ``"zip"``, ``"legacy"`` or ``"safetensors"``.
        nesting: the key the state dict was found under (``"params_ema"``...) or ``""``.
        tensors: name -> CPU tensor (its stored dtype), in file order.
        dropped: entries of the state dict that were not tensors (names).
        lightning: a Lightning checkpoint (read with ``lenient``).
        inert: globals that became placeholders (lenient mode).
    """

    path: Path
    sha256: str
    layout: str
    nesting: str
    tensors: dict[str, torch.Tensor]
    dropped: list[str] = field(default_factory=list)
    lightning: bool = False
    inert: list[str] = field(default_factory=list)

    def card(self) -> dict[str, Any]:
        """The JSON-safe record for a weights card."""
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "layout": self.layout,
            "nesting": self.nesting or None,
            "lightning": self.lightning,
        }


def _is_lightning(obj: Any) -> bool:
    return isinstance(obj, dict) and any(k in obj for k in _LIGHTNING_KEYS)


def _unwrap(obj: Any) -> tuple[str, Any]:
    """``(nesting key, the dict holding the tensors)``."""
    path: list[str] = []
    for _ in range(_MAX_DEPTH):
        if not isinstance(obj, dict):
            break
        if any(isinstance(v, TensorRef) for v in obj.values()):
            break
        key = next((k for k in NESTING_KEYS if isinstance(obj.get(k), dict)), None)
        if key is None and len(obj) == 1 and isinstance(next(iter(obj.values())), dict):
            key = next(iter(obj))
        if key is None:
            break
        path.append(str(key))
        obj = obj[key]
    if not isinstance(obj, dict):
        kind = "a placeholder object" if isinstance(obj, Inert) else type(obj).__name__
        raise ImportRefused(f"no state dict found (the file holds {kind})")
    return ".".join(path), obj


def _strip_prefix(names: list[str]) -> str:
    for p in _PREFIXES:
        if names and all(n.startswith(p) for n in names):
            return p
    return ""


def _select(raw: RawCheckpoint) -> tuple[str, dict[str, torch.Tensor], list[str]]:
    nesting, state = _unwrap(raw.obj)
    refs = {str(k): v for k, v in state.items() if isinstance(v, TensorRef)}
    dropped = [str(k) for k, v in state.items() if not isinstance(v, TensorRef)]
    if not refs:
        raise ImportRefused("the state dict holds no tensors")
    prefix = _strip_prefix(list(refs))
    tensors = {k[len(prefix) :]: ref.materialize(raw.read) for k, ref in refs.items()}
    return nesting, tensors, dropped


def _safetensors_head(head: bytes, path: Path) -> bool:
    """A safetensors file under another name: an 8-byte header length, then ``{``."""
    if len(head) < 8 or head[:2] == b"PK":
        return False
    n = int.from_bytes(head[:8], "little")
    with open(path, "rb") as fh:
        fh.seek(8)
        return 0 < n < path.stat().st_size and fh.read(1) == b"{"


def _from_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ImportRefused(f"not a valid safetensors file ({exc})") from None


def read_checkpoint(
    path: str | Path, *, lenient: bool = False, limits: Limits | None = None
) -> SourceState:
    """Read a community checkpoint without running anything of it.

    Args:
        path: a ``torch.save`` file (``.pth``/``.pt``/``.ckpt``/``.bin``, zip or legacy
            layout) or a ``.safetensors`` file.
        lenient: read a Lightning checkpoint's tensors: unknown globals under
            :data:`~ganedit.importing.unpickler.LENIENT_PREFIXES` become inert placeholders.
        limits: size and time limits (:class:`~ganedit.importing.archive.Limits`).

    Returns:
        A :class:`SourceState` with the state dict's tensors (bitwise those that
        ``torch.load(weights_only=True)`` gives).

    Raises:
        ImportRefused: naming the file and why (a hostile or damaged file, TorchScript, a
            Lightning checkpoint without ``lenient``, NaN/Inf...).
    """
    p = Path(path)
    if not p.is_file():
        raise ImportRefused(f"{p}: file not found")
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
        if p.suffix == ".safetensors" or _safetensors_head(head, p):
            dropped: list[str] = []
            inert: list[str] = []
            layout, nesting, lightning = "safetensors", "", False
            tensors = _from_safetensors(p)
        else:
            raw = read_archive(p, limits or Limits(), lenient=lenient)
            lightning = _is_lightning(raw.obj)
            if lightning and not lenient:
                raise ImportRefused(
                    "a Lightning checkpoint (training state, hyper-parameter objects): pass "
                    "--lenient (lenient=True) to read only its tensors"
                )
            layout, inert = raw.layout, sorted(raw.inert)
            nesting, tensors, dropped = _select(raw)
        check_finite(tensors, p)
    except ImportRefused as exc:
        text = str(exc)
        raise ImportRefused(text if text.startswith(str(p)) else f"{p}: {text}") from None
    except WeightsError as exc:
        raise ImportRefused(str(exc)) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise ImportRefused(f"{p}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    return SourceState(p, file_sha256(p), layout, nesting, tensors, dropped, lightning, list(inert))


def tensors_of(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix``, with it removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
