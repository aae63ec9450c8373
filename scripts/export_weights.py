"""Export a trained run's weights as shipped assets: fp16 safetensors + JSON card with held-out
metrics.

Usage (from the repository root)::

    .venv/bin/python scripts/export_weights.py RUN_DIR/srgan.safetensors \
        plugins/ganedit_srgan/weights/srgan-x4.safetensors \
        --eval data/photos/val [--test data/sr-test] \
        [--note "text"] [--command "extra command that produced the run"]

The engine's card (config, exact training command, data, step, seed, EMA) is kept; this adds
``training.wall_time_s`` (``--wall-time``), moves ``config.init_weights`` (a path on the training
machine) to ``training.init_weights``, any ``--note``
and ``--command`` lines, ``heldout``: the family's ``evaluate`` on ``--eval`` measured
with the fp16 weights exactly as shipped (rows and summary), and ``test``: the same on
``--test``, a set that no training run or checkpoint choice has seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import ganedit
from ganedit.plugins import get_family
from ganedit.weights import load_weights, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="the run's exported .safetensors (card beside it)")
    ap.add_argument("dst", type=Path, help="target .safetensors (card written beside it)")
    ap.add_argument("--eval", type=Path, action="append", default=[], help="held-out data")
    ap.add_argument(
        "--test", type=Path, action="append", default=[], help="test data no choice has seen"
    )
    ap.add_argument("--note", action="append", default=[], help="free text for the card")
    ap.add_argument("--command", action="append", default=[], help="other commands of the run")
    ap.add_argument("--wall-time", type=float, default=None, help="training wall time, seconds")
    args = ap.parse_args()

    state, card = load_weights(args.src)
    family = card.get("family")
    if not family:
        raise SystemExit(f"{args.src}: card has no family")
    card = dict(card)
    for k in ("format", "dtype", "sha256"):
        card.pop(k, None)
    training = dict(card.get("training") or {})
    if args.wall_time is not None:
        training["wall_time_s"] = round(args.wall_time, 1)
    if args.command:
        training["other_commands"] = list(args.command)
    if args.note:
        training["notes"] = list(args.note)
    config = dict(card.get("config") or {})
    if config.get("init_weights"):
        # a path on the training machine: keep it as history, not as a config the user's
        # ganedit.load() would try to read
        training["init_weights"] = config["init_weights"]
        config["init_weights"] = None
        card["config"] = config
    card["training"] = training
    card["source"] = str(args.src)
    args.dst.parent.mkdir(parents=True, exist_ok=True)
    save_weights(args.dst, state, card, dtype=torch.float16)

    for key, data in (("heldout", args.eval), ("test", args.test)):
        if not data:
            continue
        editor = ganedit.load(family, weights=args.dst, device="cpu", precision="fp32")
        result = get_family(family).evaluate(editor, {"data": list(data)}, {"n": None})
        card[key] = {
            "data": [str(p) for p in data],
            "weights_dtype": "float16 (as shipped)",
            "protocol": "bicubic (antialiased) downscale of each HR image cropped to a multiple of "
            "the scale, 8-bit LR; PSNR/SSIM on Y (kornia rgb_to_ycbcr), border = scale px",
            **result,
        }
        save_weights(args.dst, state, card, dtype=torch.float16)
        print(f"{key}:")
        json.dump(result["summary"], sys.stdout, indent=2)
        print()
    print(f"wrote {args.dst} and {args.dst.with_suffix('.json')}")


if __name__ == "__main__":
    main()
