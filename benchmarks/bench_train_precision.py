"""Training throughput of every built-in trainable family in fp32 and in ``--precision auto``.

For each family: its default Config (``--set family.key=value`` overrides), the small data
its conformance kit makes (:meth:`ganedit.ModelFamily.example_data`), and
:func:`ganedit.engine.fit` for ``--steps`` steps with a log line per step, once with
``precision="fp32"``, once with ``"auto"`` (which measures the family's own training step in
fp32 and in the reduced precisions the CPU has instructions for, keeping the faster:
:func:`ganedit.engine.choose_training_precision`) and, with ``--forced bf16``, once with that
precision named. Images per second are the median of the logged steps after the first two;
the runs alternate per family. Prints a table with the CPU named::

    python benchmarks/bench_train_precision.py [--families dcgan,pix2pix,cyclegan,cut,inpaint]
        [--steps 8] [--batch-size 4] [--forced bf16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from _machine import machine

from ganedit.config import update_config
from ganedit.engine import Engine, fit
from ganedit.plugins import get_family


def _img_per_s(family, config, data, out: Path, steps: int, bs: int, precision: str):  # type: ignore[no-untyped-def]
    engine = Engine(device="cpu", precision=precision, seed=0)
    config = update_config(config, {"batch_size": bs}, strict=False)
    fit(family, config, data, out, engine, steps=steps, log_every=1,
        checkpoint_every=0, sample_every=0, progress=False)  # fmt: skip
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["img_per_s"] for r in rows[2:]] or [rows[-1]["img_per_s"]]
    return statistics.median(rates), engine.precision.describe()


def _overrides(pairs: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        fam, _, field = key.partition(".")
        out.setdefault(fam, {})[field] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="dcgan,pix2pix,cyclegan,cut,inpaint")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--forced", default="", help="also time this precision named (e.g. bf16)")
    ap.add_argument("--set", action="append", default=[], metavar="FAMILY.KEY=VALUE")
    args = ap.parse_args()
    sets = _overrides(args.set)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganedit-trainprec-") as tmp:
        for name in args.families.split(","):
            try:
                family = get_family(name)
            except Exception as exc:  # noqa: BLE001 - a family not installed is a row, not a crash
                rows.append((name, f"not available: {exc}"))
                continue
            config = update_config(family.Config(), sets.get(name, {}), strict=False)
            data = family.example_data(Path(tmp) / f"{name}-data", config)
            row = []
            for prec in ["fp32", "auto", *([args.forced] if args.forced else [])]:
                rate, how = _img_per_s(family, config, data, Path(tmp) / f"{name}-{prec}",
                                       args.steps, args.batch_size, prec)  # fmt: skip
                row.append(f"{prec}: {rate:.2f} img/s [{how}]")
            rows.append((name, " | ".join(row)))
            print(f"{name:10s} {rows[-1][1]}", flush=True)
    print(machine())
    print(f"training throughput, batch {args.batch_size}, {args.steps} steps, example data")
    for name, text in rows:
        print(f"{name:10s} {text}")


if __name__ == "__main__":
    main()
