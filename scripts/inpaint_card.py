"""Complete an exported ``inpaint`` weights card: training segments, commands and test figures.

``ganedit export`` writes the card's config, checkpoint and data; this adds what the run
folder and the evaluation know: every training segment (``RUN/segments.jsonl``: steps, wall
and CPU seconds, threads; written by ``scripts/train_inpaint.py``), the commands that
reproduce the weights, the machine, notes, and the held-out summary of
``ganedit eval inpaint --json`` (``--eval FILE``). Paths under the repository are written
relative to it::

    .venv/bin/python scripts/inpaint_card.py CARD --run runs/inpaint-paints \\
        --eval eval.json --note "..."
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _machine import cpu_model  # noqa: E402  (the benchmarks' CPU name, one place)


def _relative(v: Any) -> Any:
    """Strings naming paths under the repository, made relative to it (recursively)."""
    if isinstance(v, str) and v.startswith(str(ROOT) + "/"):
        return v[len(str(ROOT)) + 1 :]
    if isinstance(v, list):
        return [_relative(x) for x in v]
    if isinstance(v, dict):
        return {k: _relative(x) for k, x in v.items()}
    return v


DEFAULT_COMMAND = (
    ".venv/bin/python scripts/fetch_data.py && OMP_NUM_THREADS=1 nice -n 15 "
    ".venv/bin/python scripts/train_inpaint.py --steps 6000 --minutes M  (resume: the same)"
)


def complete(
    card: dict[str, Any],
    run: Path,
    evaluation: Path | None,
    notes: list[str],
    command: str = DEFAULT_COMMAND,
) -> None:
    """Add segments, commands, machine, notes and the test summary to ``card`` in place."""
    seg_file = run / "segments.jsonl"
    segments = (
        [json.loads(t) for t in seg_file.read_text().splitlines()] if seg_file.is_file() else []
    )
    training = card.setdefault("training", {})
    training["runs"] = segments
    training["wall_seconds_total"] = sum(int(s.get("wall_seconds", 0)) for s in segments)
    training["cpu_seconds_total"] = sum(int(s.get("cpu_seconds", 0)) for s in segments)
    training["command"] = command
    training["export_command"] = (
        f"ganedit export {_relative(str(training.get('checkpoint', run)))} "
        "plugins/ganedit_inpaint/weights/inpaint.safetensors "
        "--fp16 --force"
    )
    training["machine"] = (
        f"{os.cpu_count()} CPU cores ({cpu_model()}), no GPU; torch "
        f"{torch.__version__.split('+')[0]}, {platform.python_implementation()} "
        f"{platform.python_version()}"
    )
    training["notes"] = notes
    if evaluation is not None:
        result = json.loads(evaluation.read_text())
        card["test"] = {
            "data": {"data": ["data/inpaint-test"]},
            "command": "ganedit eval inpaint --data data/inpaint-test --json",
            "weights_dtype": card.get("dtype", "float16") + " (as shipped)",
            "summary": result["summary"],
        }
    card.update(_relative({k: v for k, v in card.items() if k != "sha256"}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("card", type=Path, help="the exported weights' .json card (edited in place)")
    ap.add_argument("--run", type=Path, required=True, help="the training run folder")
    ap.add_argument("--eval", type=Path, default=None, help="ganedit eval inpaint --json output")
    ap.add_argument("--note", action="append", default=[], help="a note for the card")
    ap.add_argument("--command", default=DEFAULT_COMMAND, help="the training command(s)")
    args = ap.parse_args()
    card = json.loads(args.card.read_text())
    complete(card, args.run, args.eval, args.note, args.command)
    args.card.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"card: {args.card}")


if __name__ == "__main__":
    main()
