"""Finish the card of exported pix2pix / CycleGAN weights: how they were made, and test figures.

``ganedit export RUN OUT --fp16`` writes the weights and a card with the config, the last
training command, data, step and seed. This adds what a user needs to trust and reproduce
them: every command of the run with its steps and wall time (``--run``), the data
preparation command, the machine, and ``test``: the family's ``evaluate`` on ``--test`` data
(a split no training run or choice has seen), measured with the fp16 weights exactly as
shipped, with the exact ``ganedit eval`` command. ``--compare NAME=WEIGHTS`` evaluates other
weights (e.g. the L1-only U-Net) on the same data and stores their summary beside.

Usage (from the repository root)::

    python scripts/card_translation_weights.py \
        plugins/ganedit_translate/weights/pix2pix-fashion-edges.safetensors \
        --test data=data/fashion-edges/test \
        --run "ganedit train pix2pix ...|0-5000|1860" --compare l1_only=runs/l1.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import time
from pathlib import Path

import torch

import ganedit
from ganedit.weights import load_weights, save_weights

DATA_COMMAND = "python scripts/make_translation_data.py"


def _roles(items: list[str]) -> dict[str, list[Path]]:
    roles: dict[str, list[Path]] = {}
    for item in items:
        role, _, path = item.rpartition("=")
        roles.setdefault(role or "data", []).append(Path(path))
    return roles


def _evaluate(family: str, weights: Path, data: dict[str, list[Path]]) -> dict:
    editor = ganedit.load(family, weights=weights, device="cpu", precision="fp32")
    t0 = time.time()
    result = ganedit.get_family(family).evaluate(editor, data, {"n": None})
    result["summary"]["seconds"] = round(time.time() - t0, 1)
    return result


def _eval_command(family: str, weights: Path, test: list[str]) -> str:
    args = ["ganedit", "eval", family, "--weights", str(weights)]
    for item in test:
        args += ["--data", item.removeprefix("data=")]
    return shlex.join(args)


def _runs(specs: list[str]) -> list[dict]:
    runs = []
    for spec in specs:
        command, steps, seconds = spec.split("|")
        runs.append({"command": command, "steps": steps, "wall_seconds": float(seconds)})
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", type=Path, help="exported .safetensors (card beside it)")
    ap.add_argument("--test", action="append", default=[], help="[ROLE=]DIR test data")
    ap.add_argument("--run", action="append", default=[], help="'COMMAND|STEPS|SECONDS'")
    ap.add_argument("--compare", action="append", default=[], help="NAME=WEIGHTS")
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args()

    state, card = load_weights(args.weights)
    family = str(card["family"])
    card = {k: v for k, v in card.items() if k not in ("format", "dtype", "sha256")}
    training = dict(card.get("training") or {})
    runs = _runs(args.run)
    if runs:
        training["runs"] = runs
        training["wall_seconds_total"] = sum(r["wall_seconds"] for r in runs)
    training["data_command"] = DATA_COMMAND
    training["machine"] = (
        f"{os.cpu_count()} shared CPU cores ({platform.processor() or platform.machine()}), "
        f"no GPU; torch {torch.__version__}; other users' jobs ran at the same time"
    )
    if args.note:
        training["notes"] = list(args.note)
    card["training"] = training
    data = _roles(args.test)
    result = _evaluate(family, args.weights, data)
    card["test"] = {
        "data": {k: [str(p) for p in v] for k, v in data.items()},
        "command": _eval_command(family, args.weights, args.test),
        "weights_dtype": "float16 (as shipped)",
        **result,
    }
    for item in args.compare:
        name, _, path = item.partition("=")
        other = _evaluate(family, Path(path), data)
        card["test"].setdefault("compare", {})[name] = {
            "weights": path,
            "card_training": load_weights(Path(path))[1].get("training", {}),
            "summary": other["summary"],
        }
    save_weights(args.weights, state, card, dtype=torch.float16)
    print(json.dumps(card["test"]["summary"], indent=2))
    for name, other in card["test"].get("compare", {}).items():
        print(name, json.dumps(other["summary"], indent=2))


if __name__ == "__main__":
    main()
