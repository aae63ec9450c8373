"""Fork an ``inpaint`` training run into a new run whose generator also sees a classical fill
(the ``hint`` option), starting exactly where the old run stopped.

The hint adds 3 input channels after the mask (:class:`ganedit_inpaint.networks.FFCGenerator`).
The fork copies the old run's newest (or a named) checkpoint with the stem convolution
``encoder.0.weight`` widened from ``(C, 4 + k, 7, 7)`` to ``(C, 7 + k, 7, 7)`` by zero columns
for the hint, in the raw and the EMA generator and in Adam's two moments, so the forked
generator computes exactly what the old one did until training moves the new weights.
Everything else (discriminator, optimiser steps, RNG, data position) is copied unchanged, so
the forked run resumes like the old one would have, with the hint switched on::

    .venv/bin/python scripts/add_inpaint_hint.py runs/inpaint-paints-12 runs/inpaint-hint-1 \
        --hint ns

Then resume the new run with the same recipe plus ``hint=ns``. The new run's
``segments.jsonl`` and ``metrics.jsonl`` start as copies of the old run's (the card lists the
whole chain) and ``config.json`` gets the hint.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from ganedit.engine.checkpoint import list_checkpoints, load_state, save_state

STEM = "encoder.0.weight"
HINT_CHANNELS = 3
FIRST_EXTRA = 4  # the hint goes after the 3 image channels and the mask


def widen(weight: torch.Tensor) -> torch.Tensor:
    """``(C, 4 + k, kh, kw)`` -> ``(C, 7 + k, kh, kw)`` with zero columns at inputs 4-6."""
    zeros = weight.new_zeros(weight.shape[0], HINT_CHANNELS, *weight.shape[2:])
    return torch.cat([weight[:, :FIRST_EXTRA], zeros, weight[:, FIRST_EXTRA:]], 1)


def widen_state(state: dict, config: dict) -> None:
    """Widen the stem in ``state`` (a checkpoint's state, in place): the raw and EMA
    generators and the Adam moments of the generator's first parameter."""
    old = state["nets"]["generator"][STEM]
    if old.shape[1] != 4 + (1 if float(config.get("noise", 0)) > 0 else 0):
        raise SystemExit(f"the stem already has {old.shape[1]} inputs: is the run hinted?")
    state["nets"]["generator"][STEM] = widen(old)
    state["ema"]["generator"][STEM] = widen(state["ema"]["generator"][STEM])
    first = state["opts"]["g"]["state"][0]  # Adam's state of generator.parameters()[0]
    for key in ("exp_avg", "exp_avg_sq"):
        if first[key].shape != old.shape:
            raise SystemExit(f"the generator's first parameter is not {STEM} ({first[key].shape})")
        first[key] = widen(first[key])


def fork(src: Path, dst: Path, hint: str, checkpoint: Path | None) -> Path:
    """Write the forked checkpoint and run files into ``dst``; returns the checkpoint path."""
    if dst.exists():
        raise SystemExit(f"{dst}: already exists; the fork goes into a new run folder")
    ckpt = checkpoint or list_checkpoints(src / "checkpoints")[-1]
    state, doc = load_state(ckpt)
    meta = doc["meta"]
    widen_state(state, meta["config"])
    meta["config"]["hint"] = hint
    (dst / "checkpoints").mkdir(parents=True, exist_ok=False)
    out = save_state(dst / "checkpoints" / ckpt.stem, state, step=int(doc["step"]), meta=meta)
    for name in ("metrics.jsonl", "segments.jsonl"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    config["config"]["hint"] = hint
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="the run to fork")
    ap.add_argument("dst", type=Path, help="the new run folder (must not exist)")
    ap.add_argument("--hint", choices=("ns", "telea"), default="ns")
    ap.add_argument("--checkpoint", type=Path, default=None, help="[the newest]")
    args = ap.parse_args()
    print(fork(args.src, args.dst, args.hint, args.checkpoint), file=sys.stderr)


if __name__ == "__main__":
    main()
