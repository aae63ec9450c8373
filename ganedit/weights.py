"""Weights files: ``<name>.safetensors`` beside a ``<name>.json`` card.

No pickled weights are ever read: only safetensors (a flat tensor container) and JSON. The card
holds ``format``, ``family``, ``config`` (the family's Config as a dict), ``dtype``, ``sha256``
(of the .safetensors file) and whatever the trainer records (``training``, ``metrics``, ...).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganedit.io.atomic import atomic_path, atomic_write_bytes

__all__ = [
    "CARD_FORMAT",
    "WeightsError",
    "card_path",
    "card_provenance",
    "check_finite",
    "file_sha256",
    "generator_state",
    "import_checkpoint",
    "load_weights",
    "pack_generators",
    "pickle_refusal",
    "refuse_pickle",
    "resolve_resource",
    "save_weights",
]

CARD_FORMAT = "ganedit-weights/1"
#: The format tag of training checkpoints (:mod:`ganedit.engine.checkpoint`), recognised here
#: so that a checkpoint given where weights are expected gets a message saying what to do.
CHECKPOINT_FORMAT = "ganedit-checkpoint/1"
EXPORT_HINT = (
    "make shippable weights from it with `ganedit export RUN_OR_CHECKPOINT OUT.safetensors`"
)


class WeightsError(ValueError):
    """A weights file that is missing, not safetensors, or does not match its card."""


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_path(weights: str | Path) -> Path:
    """The JSON card that belongs to ``weights`` (same folder and stem)."""
    return Path(weights).with_suffix(".json")


def resolve_resource(spec: str) -> Path:
    """``"package:relative/path"`` -> a filesystem path inside the installed package."""
    package, _, rel = spec.partition(":")
    if not rel:
        return Path(spec)
    try:
        root = resources.files(package)
    except ModuleNotFoundError as exc:
        raise WeightsError(
            f"bundled weights {spec!r}: package {package!r} is not installed"
        ) from exc
    return Path(str(root.joinpath(rel)))


def save_weights(
    path: str | Path,
    state_dict: Mapping[str, torch.Tensor],
    card: Mapping[str, Any],
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``state_dict`` as safetensors and its card as JSON, both atomically.

    Args:
        path: target ``.safetensors`` path (its card goes beside it as ``.json``).
        state_dict: name -> tensor; floating tensors are cast to ``dtype`` when given
            (``torch.float16`` for shipped weights).
        card: JSON-safe metadata; ``format``, ``dtype`` and ``sha256`` are filled in here.

    Returns:
        The weights path.
    """
    path = Path(path)
    tensors = {}
    for k, v in state_dict.items():
        t = v.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[k] = t.contiguous()
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": CARD_FORMAT})
    full = dict(card)
    full["format"] = CARD_FORMAT
    full["dtype"] = str(
        dtype or next((t.dtype for t in tensors.values() if t.is_floating_point()), torch.float32)
    ).replace("torch.", "")
    full["sha256"] = file_sha256(path)
    atomic_write_bytes(
        card_path(path), (json.dumps(full, indent=2, sort_keys=False) + "\n").encode()
    )
    return path


def load_card(path: str | Path) -> dict[str, Any]:
    """The card beside ``path`` (``{}`` when there is none)."""
    cp = card_path(path)
    if not cp.exists():
        return {}
    try:
        data = json.loads(cp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{cp}: unreadable weights card ({exc})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{cp}: weights card is not a JSON object")
    return data


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a ``.safetensors`` file and its card.

    Returns:
        ``(state_dict, card)``: tensors on the CPU in their stored dtype, and the card (``{}``
        when none). Raises :class:`WeightsError` for a missing file, a file that is not
        safetensors (a pickle ``.pt`` is refused without being unpickled), a tensor holding NaN
        or Inf (named), or a sha256 mismatch.
    """
    p = Path(path)
    if p.suffix == ".json" and p.with_suffix(".safetensors").is_file():
        p = p.with_suffix(".safetensors")
    if not p.is_file():
        raise WeightsError(f"{p}: weights file not found")
    refuse_pickle(p)
    try:
        state = load_file(str(p))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{p}: not a valid safetensors file ({exc})") from None
    _refuse_checkpoint(p)
    check_finite(state, p)
    card = load_card(p)
    want = card.get("sha256")
    if want and want != file_sha256(p):
        raise WeightsError(f"{p}: sha256 does not match its card {card_path(p).name}")
    return state, card


def pickle_refusal(path: str | Path) -> str:
    """The one message every weights reader gives for a pickle: what it is, why it is not
    read, and the ``ganedit import`` command that converts it safely."""
    p = Path(path)
    return (
        f"{p}: this is a pickled PyTorch checkpoint (torch.save); ganedit loads weights only "
        "from .safetensors, because unpickling can run code. Convert it with the safe importer: "
        f"`ganedit import {p.name} {p.stem}.safetensors --to FAMILY` (FAMILY: the model that runs "
        "it; an unknown name lists those that can import; or `tensors` for a plain state dict)"
    )


def refuse_pickle(path: str | Path) -> None:
    """Raise :class:`WeightsError` (:func:`pickle_refusal`) when ``path`` is a pickle or a
    ``torch.save`` zip, told from its first and last bytes without unpickling anything."""
    p = Path(path)
    if p.is_file() and _looks_like_pickle(p):
        raise WeightsError(pickle_refusal(p))


#: Card fields about where imported weights come from; run manifests carry them.
PROVENANCE_KEYS = ("license", "non_commercial", "layout", "architecture", "source", "imported")


def card_provenance(card: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance fields of a weights card (:data:`PROVENANCE_KEYS` that it holds), for
    run manifests: licence, non-commercial flag, detected layout, source files."""
    return {k: card[k] for k in PROVENANCE_KEYS if k in card}


def import_checkpoint(
    sources: Any,
    out: str | Path,
    *,
    to: str | None = None,
    family: str | None = None,
    **options: Any,
) -> Path:
    """Community checkpoints (``.pth``/``.ckpt``, read without unpickling code) -> weights.

    The same as :func:`ganedit.importing.import_checkpoint` (see there for every option:
    ``settings``, ``license``, ``lenient``, ``allow_noncommercial``, ``limits``); ``family``
    is another name for ``to``. Kept here beside :func:`load_weights`, its counterpart.
    """
    from ganedit.importing import import_checkpoint as _import

    target = to if to is not None else family
    if target is None:
        raise TypeError("import_checkpoint() needs to=FAMILY")
    return _import(sources, out, to=target, **options)


def check_finite(state: Mapping[str, torch.Tensor], source: Any) -> None:
    """Refuse NaN or Inf in any floating tensor (they make every output black or garbage).

    Raises:
        WeightsError: naming ``source`` (the file) and the first tensor that is not finite.
    """
    for name, t in state.items():
        if t.is_floating_point() or t.is_complex():
            bad = ~torch.isfinite(t)
            if bool(bad.any()):
                n = int(bad.sum())
                kinds = [
                    k for k, m in (("NaN", torch.isnan(t)), ("Inf", torch.isinf(t))) if m.any()
                ]
                raise WeightsError(
                    f"{source}: tensor {name!r} holds {n} non-finite value(s) "
                    f"({' and '.join(kinds)}); these weights are damaged (a diverged training "
                    "run?) and would give black or garbage outputs"
                )


def _looks_like_pickle(path: Path) -> bool:
    """A pickle (any protocol) or a ``torch.save`` zip, told from its first and last bytes
    without unpickling anything."""
    with open(path, "rb") as fh:
        head = fh.read(16)
        fh.seek(max(0, path.stat().st_size - 1))
        tail = fh.read(1)
    if head[:2] == b"PK" or (head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5):
        return True
    # protocols 0 and 1 are text-like opcodes (GLOBAL "c", MARK "(", EMPTY_* "]}") ending in "."
    return head[:1] in (b"c", b"(", b"]", b"}") and tail == b"."


def _refuse_checkpoint(path: Path) -> None:
    """Raise a :class:`WeightsError` saying what to do when ``path`` is a training checkpoint."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as fh:
            fmt = (fh.metadata() or {}).get("format")
    except (SafetensorError, OSError):
        return
    if fmt == CHECKPOINT_FORMAT:
        raise WeightsError(f"{path}: this is a training checkpoint, not weights; {EXPORT_HINT}")


def pack_generators(states: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One flat state dict for a weights file: ``{"<generator>.<tensor>": tensor}``.

    Args:
        states: generator name (``"generator"``, ``"a2b"``...) -> its ``state_dict()``.
    """
    return {f"{name}.{k}": v for name, sd in states.items() for k, v in sd.items()}


def generator_state(
    state: Mapping[str, torch.Tensor], name: str, generators: tuple[str, ...], source: Any = ""
) -> dict[str, torch.Tensor]:
    """The tensors of generator ``name`` from a weights file's state dict, floats as fp32.

    Files written by :func:`pack_generators` prefix every tensor with its generator's name.
    A file without any such prefix (the format before generators were named) is taken whole
    when the family has a single generator.

    Args:
        state: what :func:`load_weights` returned.
        name: the generator to take (one of ``generators``).
        generators: every generator the family declares.
        source: the file, for the error message.

    Raises:
        WeightsError: the file holds no tensors for ``name``.
    """
    prefix = name + "."
    own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not own:
        prefixed = any(k.split(".", 1)[0] in generators for k in state)
        if len(generators) > 1 or prefixed:
            held = sorted({k.split(".", 1)[0] for k in state})
            raise WeightsError(
                f"{source}: no tensors for generator {name!r} (the file holds {', '.join(held)})"
            )
        own = dict(state)
    return {k: (v.float() if v.is_floating_point() else v) for k, v in own.items()}
