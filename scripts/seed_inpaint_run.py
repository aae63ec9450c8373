"""Seed a fresh ``inpaint`` training run with the generator of an exported weights file (the
bundled ``inpaint.safetensors``, say), so training continues from those weights when the run
that made them is gone.

A weights file holds only the EMA generator, in fp16: the discriminator, the optimiser moments,
the RNG and the data position are not in it. So the procedure is:

1. start the new run with the recipe it will keep (``hint`` included) for a few steps, which
   writes a checkpoint with a (barely trained) discriminator, optimisers, RNG and data state::

       .venv/bin/python -m ganedit train inpaint ... --out runs/R --steps 10 \\
           --checkpoint-every 10 --set hint=ns ...

2. ``seed_inpaint_run.py runs/R WEIGHTS``: the newest checkpoint's raw and EMA generators
   become the file's generator (fp16 -> fp32; the stem widened by zero columns for the hint
   when the run is hinted and the file is not, as ``add_inpaint_hint.py`` does), and the
   generator's Adam state is emptied (moments of the random generator are meaningless for
   the seeded one). Written in place, at the same step, with ``seeded_from`` in its meta;

3. resume with the generator's rate near zero (``--set lr=1e-8``) for several hundred steps,
   so the discriminator learns the seeded generator and Adam's moments settle before the
   generator moves; then resume with the recipe's rate.

Every segment goes into ``RUN/segments.jsonl`` as usual; the card's note must name the seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from add_inpaint_hint import HINT_CHANNELS, STEM, widen  # the script beside this one

from ganedit.engine.checkpoint import list_checkpoints, load_state, save_state
from ganedit.weights import file_sha256, load_weights


def generator_from_file(path: Path, name: str = "generator") -> dict[str, torch.Tensor]:
    """The float32 state dict of generator ``name`` in the weights file ``path``."""
    flat, _card = load_weights(path)
    prefix = f"{name}."
    state = {k[len(prefix) :]: v.float() for k, v in flat.items() if k.startswith(prefix)}
    if not state:
        raise SystemExit(f"{path}: no tensors of a generator named {name!r}")
    return state


def fit_stem(seed: dict[str, torch.Tensor], target: torch.Tensor) -> None:
    """Widen ``seed``'s stem by zero columns at inputs 4-6 (in place) when ``target``, the
    run's stem, has the hint's inputs and ``seed``'s has not; any other mismatch is left for
    :func:`seed_run`'s shape check to refuse."""
    if seed[STEM].shape[1] + HINT_CHANNELS == target.shape[1]:
        seed[STEM] = widen(seed[STEM])


def seed_run(run: Path, weights: Path) -> Path:
    """Replace the generator of ``run``'s newest checkpoint by the one in ``weights``;
    returns the checkpoint path."""
    found = list_checkpoints(run / "checkpoints")
    if not found:
        raise SystemExit(f"{run}: no checkpoint; train a few steps first (see the docstring)")
    ckpt = found[-1]
    state, doc = load_state(ckpt)
    meta = doc["meta"]
    if "seeded_from" in meta:
        raise SystemExit(f"{ckpt}: already seeded from {meta['seeded_from']['file']}")
    seed = generator_from_file(weights)
    current = state["nets"]["generator"]
    fit_stem(seed, current[STEM])
    if set(seed) != set(current):
        raise SystemExit(f"{weights}: generator keys differ: {sorted(set(seed) ^ set(current))}")
    for key, value in seed.items():
        if value.shape != current[key].shape:
            raise SystemExit(f"{key}: {tuple(value.shape)} vs {tuple(current[key].shape)}")
    state["nets"]["generator"] = {k: v.clone() for k, v in seed.items()}
    state["ema"]["generator"] = {k: v.clone() for k, v in seed.items()}
    state["opts"]["g"]["state"] = {}
    meta["seeded_from"] = {"file": str(weights), "sha256": file_sha256(weights)}
    return save_state(ckpt.with_suffix(""), state, step=int(doc["step"]), meta=meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a fresh run with at least one checkpoint")
    ap.add_argument("weights", type=Path, help="an exported inpaint .safetensors file")
    args = ap.parse_args()
    print(seed_run(args.run, args.weights), file=sys.stderr)


if __name__ == "__main__":
    main()
