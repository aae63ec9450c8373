"""``ganedit export RUN|CHECKPOINT OUT.safetensors``: shippable weights from a training run.

A run folder's newest checkpoint (or the checkpoint named) holds every network, the EMA copies
of the generators and, in its JSON, the family, config and generator names (see
:meth:`ganedit.engine.run_files.RunFiles.checkpoint_meta`). Export keeps only the generators (their EMA
when the run kept one), optionally as fp16, and writes the card beside them, so
``ganedit.load(family, weights=OUT)`` and ``ganedit run FAMILY --weights OUT`` use them.
An EMA that is still mostly the initial weights (too few steps for its decay) is exported with
an :class:`EMAWarning` (:func:`ema_warning` says why and what to do instead).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import torch

from ganedit.engine.checkpoint import CheckpointError, list_checkpoints, load_state
from ganedit.weights import pack_generators, save_weights

__all__ = ["EMAWarning", "ema_warning", "export_weights", "find_checkpoint"]

#: Largest share of the initial weights an exported EMA may still hold without a warning.
EMA_INIT_SHARE = 0.1


class EMAWarning(UserWarning):
    """:func:`export_weights` took a generator's EMA that is still mostly its initial weights
    (the message is :func:`ema_warning`'s)."""


def ema_warning(steps: int, decay: float | None, limit: float = EMA_INIT_SHARE) -> str | None:
    """Why an EMA updated ``steps`` times with ``decay`` is not yet the trained network, or
    ``None`` when it is.

    After ``n`` updates ``ema = decay**n * initial + (1 - decay**n) * (recent weights)``, so
    ``decay**n`` of it is still the untrained initial weights; above ``limit`` (10%), i.e.
    fewer than about ``2.3 / (1 - decay)`` steps, the message says so, with the steps needed
    and what to do instead. ``decay`` 0 or ``None`` (no EMA) never warns.
    """
    if not decay or not 0.0 < decay < 1.0 or steps < 0:
        return None
    share = decay**steps
    if share <= limit:
        return None
    needed = math.ceil(math.log(limit) / math.log(decay))
    fits = math.floor(limit ** (1.0 / steps) * 1000) / 1000 if steps else 0.0
    smaller = f" (at most {fits:g} for {steps} steps)" if fits > 0 else ""
    return (
        f"warning: the EMA (decay {decay:g}) has seen only {steps} steps, so {share:.0%} of it "
        f"is still the initial, untrained weights (it needs about {needed} steps at this "
        f"decay). Export the trained generators with --no-ema, or train with a smaller "
        f"--ema-decay{smaller} or for longer."
    )


def find_checkpoint(source: str | Path) -> Path:
    """The checkpoint JSON for ``source``: a run folder (its newest checkpoint), a
    ``checkpoints/`` folder, or a checkpoint's ``.json`` / ``.safetensors`` file."""
    p = Path(source)
    if p.is_dir():
        found = list_checkpoints(p / "checkpoints") or list_checkpoints(p)
        if not found:
            raise CheckpointError(f"{p}: no checkpoints (step-*.json) in it or in checkpoints/")
        return found[-1]
    if p.suffix == ".safetensors":
        p = p.with_suffix(".json")
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    return p


def _run_config(ckpt: Path) -> dict[str, Any]:
    """The run's ``config.json`` (two folders up), for checkpoints without meta."""
    for folder in (ckpt.parent.parent, ckpt.parent):
        path = folder / "config.json"
        if path.is_file():
            return dict(json.loads(path.read_text(encoding="utf-8")))
    return {}


def export_weights(
    source: str | Path, out: str | Path, *, fp16: bool = False, ema: bool = True
) -> Path:
    """Write the generators of a run or checkpoint as ``out`` (safetensors) + card.

    Args:
        source: a run folder or a checkpoint (see :func:`find_checkpoint`).
        out: the target ``.safetensors`` path; its ``.json`` card goes beside it.
        fp16: store floating tensors as float16 (half the size; loaded back as fp32).
        ema: take each generator's EMA when the checkpoint has one (default), else the
            trained network itself.

    Returns:
        The weights path. Its card's ``training`` section records the checkpoint, step, which
        generators are EMAs, the data and the run's ``ema_decay``.

    Raises:
        CheckpointError: no checkpoint, an incomplete or foreign one, or one that names no
            family (and no ``config.json`` in its run folder does either).

    Warns:
        EMAWarning: an exported EMA is still mostly the initial weights (:func:`ema_warning`).
    """
    ckpt = find_checkpoint(source)
    state, doc = load_state(ckpt)
    meta = dict(doc.get("meta") or {})
    run = _run_config(ckpt)
    family = meta.get("family") or run.get("family")
    if not family:
        raise CheckpointError(f"{ckpt}: the checkpoint names no family and no config.json does")
    config = meta.get("config") or run.get("config") or {}
    nets = state.get("nets") or {}
    generators = list(meta.get("generators") or (["generator"] if "generator" in nets else []))
    missing = [g for g in generators if g not in nets]
    if not generators or missing:
        raise CheckpointError(f"{ckpt}: no generator {missing or ''} among {sorted(nets)}")
    saved_ema = state.get("ema") or {}
    use_ema = {g: ema and g in saved_ema for g in generators}
    packed = pack_generators({g: saved_ema[g] if use_ema[g] else nets[g] for g in generators})
    step = int(doc.get("step", -1))
    # the engine's decay (older checkpoints: the Config's, for a family with the field)
    decay = meta["ema_decay"] if "ema_decay" in meta else config.get("ema_decay")
    card = {
        "family": family,
        "config": config,
        "generators": generators,
        "training": {
            "checkpoint": str(ckpt),
            "step": step,
            "ema": use_ema,
            "ema_decay": decay if saved_ema else None,
            "data": meta.get("data") or run.get("data"),
        },
    }
    path = save_weights(out, packed, card, dtype=torch.float16 if fp16 else None)
    warning = ema_warning(step, decay) if any(use_ema.values()) else None
    if warning:
        warnings.warn(warning, EMAWarning, stacklevel=2)
    return path
