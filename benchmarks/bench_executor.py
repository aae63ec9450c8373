"""``ganedit run srgan`` with ``--executor ray`` vs the local executor on this machine: images
per second, what Ray costs on top, and the numbers behind the projection for N GPU nodes.

Runs, alternating, as whole processes (start-up included, as a user sees them):

* ``local``: ``ganedit run srgan IN OUT --device cpu``;
* ``ray (own instance)``: the same with ``--executor ray`` (a local Ray instance is started
  and stopped by the run, one actor);
* ``ray (joined)``: ``--executor ray --ray-address HOST:PORT`` joining an instance this script
  started once (the cost a cluster job pays: the driver connects, one actor starts).

Each also runs on a single image; ``(t_n - t_1) / (n - 1)`` is the steady per-image time, so
the fixed cost (start-up, Ray's session and actor) and the per-image cost separate. Outputs of
the local and the ray run are compared byte for byte. Last, the driver's own work per record
(the :class:`~ganedit.infer.run.records.RecordBook`: one record, event, progress, manifest rewrite
every 2 s) is timed on synthetic records, since the driver is the one serial part when many
nodes feed it::

    python benchmarks/bench_executor.py [--n 24] [--size 96] [--worker-batch 8] [--records 100000]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine
from bench_upscale_folder import make_inputs


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr.decode()[-3000:]}")
    return time.perf_counter() - t0


def run_cmd(src: Path, dst: Path, *extra: str) -> list[str]:
    exe = Path(sys.executable).with_name("ganedit")
    return [str(exe), "run", "srgan", str(src), str(dst), "--device", "cpu", *extra]


def driver_cost(n: int, folder: Path) -> tuple[float, float]:
    """``(records per second through the driver's book, seconds of one manifest rewrite at
    n records)`` on synthetic records."""
    from ganedit.infer.run.pipeline import RunEvents
    from ganedit.infer.run.records import RecordBook
    from ganedit.infer.run.report import RunReport
    from ganedit.io import Manifest

    manifest = Manifest(folder / "ganedit-run.json", model="srgan")
    book = RecordBook(manifest, RunEvents(RunReport(), None), total=n, progress=False)
    t0 = time.perf_counter()
    for i in range(n):
        rec = {"input": f"/shared/in/{i:07d}.png", "output": f"/shared/out/{i:07d}.png",
               "status": "done", "error": None, "seconds": 0.1, "input_size": 123456,
               "input_mtime_ns": 1_700_000_000_000_000_000 + i}  # fmt: skip
        book.record(i, rec)
    rate = n / (time.perf_counter() - t0)
    t1 = time.perf_counter()
    manifest.write()
    return rate, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--worker-batch", type=int, default=8)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument(
        "--threads",
        default="1",
        help="--threads of every run (the same layout for both, so "
        "the difference is the executor's; 'auto' lets each choose)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ganedit-exec-") as tmp:
        t = Path(tmp)
        env = dict(os.environ, RAY_memory_monitor_refresh_ms="0", RAY_TMPDIR=str(t / "ray"))
        env["RAY_AUTH_MODE"] = "disabled"  # throwaway local instances, joined by our children
        env["HOME"] = str(t / "home")
        (t / "ray").mkdir()
        (t / "home").mkdir()
        make_inputs(t / "in", args.n, args.size)
        make_inputs(t / "one", 1, args.size)
        batch = ["--worker-batch", str(args.worker_batch), "--threads", args.threads]
        kinds = {
            "local": ["--threads", args.threads],
            "ray (own instance)": ["--executor", "ray", *batch],
            "ray (joined)": ["--executor", "ray", "--ray-address", "ADDRESS", *batch],
        }
        times: dict[str, tuple[float, float]] = {}
        for name, extra in kinds.items():
            if "ADDRESS" in extra:  # an instance of this script's, started once, joined
                keys = ("HOME", "RAY_memory_monitor_refresh_ms", "RAY_TMPDIR", "RAY_AUTH_MODE")
                os.environ.update({k: env[k] for k in keys})
                import ray

                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                address = ray.get_runtime_context().gcs_address
                extra = [address if x == "ADDRESS" else x for x in extra]
            key = name.split()[0] + ("-own" if "own" in name else "")
            full = timed(run_cmd(t / "in", t / f"out-{key}", *extra), env)
            one = timed(run_cmd(t / "one", t / f"one-{key}", *extra), env)
            times[name] = (full, one)
        ray.shutdown()
        same = (
            all(
                (t / "out-local" / p.name).read_bytes() == p.read_bytes()
                for p in sorted((t / "out-ray-own").glob("*.png"))
            )
            and len(list((t / "out-ray-own").glob("*.png"))) == args.n
        )
        rate, rewrite = driver_cost(args.records, t)
    print(machine())
    print(
        f"task: {args.n} PNG crops {args.size}x{args.size} -> x4, bundled srgan, CPU, 1 actor, "
        f"--threads {args.threads}"
    )
    local_step = (times["local"][0] - times["local"][1]) / (args.n - 1)
    for name, (full, one) in times.items():
        step = (full - one) / (args.n - 1)
        print(
            f"{name:19s} {args.n / full:6.2f} img/s whole run ({full:6.2f} s); one image "
            f"{one:6.2f} s; steady {1 / step:6.2f} img/s ({step / local_step:.2f}x local's time)"
        )
    print(f"outputs byte-identical to local: {same}")
    print(
        f"ray fixed cost over local: own instance {times['ray (own instance)'][1] - times['local'][1]:.1f} s, "
        f"joined {times['ray (joined)'][1] - times['local'][1]:.1f} s per run"
    )
    print(
        f"driver: {rate:,.0f} records/s through the record book; one manifest rewrite at "
        f"{args.records:,} records: {rewrite:.2f} s"
    )
    print(
        "projection: N GPU nodes give min(N x one node's img/s, the driver's records/s, the "
        "shared file system's bandwidth / bytes per image); see README 'Past one machine'"
    )


if __name__ == "__main__":
    main()
