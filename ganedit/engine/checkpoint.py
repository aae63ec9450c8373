"""Training-state files without pickle: tensors in ``.safetensors``, everything else in JSON.

A checkpoint is ``step-<k>.safetensors`` plus ``step-<k>.json``, both written atomically (the
JSON last, carrying the sha256 of the tensor file, so a checkpoint only counts once complete).
Any nested state (dicts with str or int keys, lists, tuples, numbers, strings, None, tensors)
round-trips exactly: tensors are replaced by ``{"__tensor__": key}`` references. Loading reads
JSON with :mod:`json` and tensors with :mod:`safetensors` only; a pickle (a ``torch.save`` file,
renamed or referenced) is refused before anything in it can run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganedit.io.atomic import atomic_path, atomic_write_bytes
from ganedit.weights import file_sha256, pickle_refusal

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "checkpoint_step",
    "list_checkpoints",
    "load_state",
    "save_state",
]

CHECKPOINT_FORMAT = "ganedit-checkpoint/1"
_NAME = re.compile(r"^step-(\d+)\.json$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, not ours, or carries a pickle."""


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            if "__tensor__" in obj or "__tuple__" in obj or "__intkeys__" in obj:
                raise CheckpointError(f"reserved key in state at {key}")
            return {k: _encode(v, f"{key}/{k}", tensors) for k, v in obj.items()}
        if all(isinstance(k, int) and not isinstance(k, bool) for k in obj):
            return {
                "__intkeys__": {str(k): _encode(v, f"{key}/{k}", tensors) for k, v in obj.items()}
            }
        raise CheckpointError(f"state at {key}: dict keys must be all str or all int")
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"state at {key}: cannot store {type(obj).__name__} without pickle")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            try:
                return tensors[obj["__tensor__"]]
            except KeyError:
                raise CheckpointError(
                    f"tensor {obj['__tensor__']!r} missing from the checkpoint"
                ) from None
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__intkeys__" in obj:
            return {int(k): _decode(v, tensors) for k, v in obj["__intkeys__"].items()}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    return obj


def _is_pickle(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4)
    # pickle protocol 2-5 starts with PROTO (0x80); torch.save files are zip archives ("PK")
    return head[:2] == b"PK" or (len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5)


def save_state(
    path: str | Path, state: dict[str, Any], *, step: int, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``state`` as ``<path>.safetensors`` + ``<path>.json`` (``path`` without suffix or
    with ``.json``); returns the JSON path."""
    p = Path(path)
    jpath = p if p.suffix == ".json" else p.with_name(p.name + ".json")
    tpath = jpath.with_suffix(".safetensors")
    tensors: dict[str, torch.Tensor] = {}
    encoded = _encode(state, "state", tensors)
    with atomic_path(tpath) as tmp:
        save_file(tensors, str(tmp), metadata={"format": CHECKPOINT_FORMAT})
    doc = {
        "format": CHECKPOINT_FORMAT,
        "step": int(step),
        "tensors": tpath.name,
        "sha256": file_sha256(tpath),
        "meta": meta or {},
        "state": encoded,
    }
    atomic_write_bytes(jpath, (json.dumps(doc) + "\n").encode())
    return jpath


def load_state(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_state`.

    Args:
        path: the ``.json`` file (or its ``.safetensors`` twin).

    Returns:
        ``(state, doc)``: the state as saved (tensors on the CPU) and the JSON document
        (``step``, ``meta``...).

    Raises:
        CheckpointError: missing/incomplete files, a sha256 mismatch, or a pickle anywhere
            (refused without unpickling).
    """
    p = Path(path)
    if p.is_file() and _is_pickle(p):
        raise CheckpointError(pickle_refusal(p))  # names the file and `ganedit import`
    jpath = p if p.suffix == ".json" else p.with_suffix(".json")
    try:
        doc = json.loads(jpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{jpath}: checkpoint not found") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{jpath}: unreadable checkpoint ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{jpath}: not a ganedit checkpoint (format {CHECKPOINT_FORMAT})")
    name = str(doc.get("tensors", ""))
    if Path(name).name != name or not name.endswith(".safetensors"):
        raise CheckpointError(
            f"{jpath}: tensors must be a .safetensors file beside it, got {name!r}"
        )
    tpath = jpath.with_name(name)
    if not tpath.is_file():
        raise CheckpointError(f"{jpath}: its tensor file {name} is missing")
    if _is_pickle(tpath):
        raise CheckpointError(pickle_refusal(tpath))
    if doc.get("sha256") != file_sha256(tpath):
        raise CheckpointError(
            f"{tpath}: sha256 does not match {jpath.name} (incomplete or altered)"
        )
    try:
        tensors = load_file(str(tpath))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{tpath}: not a valid safetensors file ({exc})") from None
    return _decode(doc["state"], tensors), doc


def checkpoint_step(path: Path) -> int:
    m = _NAME.match(path.name)
    return int(m.group(1)) if m else -1


def list_checkpoints(folder: str | Path) -> list[Path]:
    """``step-*.json`` files in ``folder``, oldest first."""
    f = Path(folder)
    if not f.is_dir():
        return []
    return sorted((p for p in f.iterdir() if _NAME.match(p.name)), key=checkpoint_step)
