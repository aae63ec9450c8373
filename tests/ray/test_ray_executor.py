"""``--executor ray`` on a local Ray instance (two CPUs, one actor): the same files, pixels and
records as the local executor, bad files failed with reasons, skip-existing, an actor killed
mid-run (every input exactly once, no partial output, no temp file), ``--json`` stdout that
stays JSON lines while Ray reports the dead actor, SIGINT (exit 130, then a rerun completes);
and the multi-node training recipe: ``ganedit.train`` inside Ray Train's ``TorchTrainer``.

Run them alone with ``pytest -m ray``."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runs import sigint_not_ignored
from imagefiles import random_image, write_test_image
from ray_helpers import FIXTURES, save_probe_weights

from ganedit.infer import run_folder
from ganedit.io import Manifest, encode_image, write_image
from ganedit.plugins import reset_plugins

pytestmark = pytest.mark.ray

#: Logical CPUs of the module's Ray instance: one executor actor; for the Ray Train test two
#: train workers plus Ray Train's controller.
RAY_NUM_CPUS = 3

ODD = os.fsdecode(b"caf\xe9 \xff.png")  # a valid image whose name is not UTF-8


def _inputs(src: Path, n: int = 6, bad: bool = True) -> list[str]:
    """``n`` images of two sizes (one with a name that is not UTF-8), and bad files."""
    rng = np.random.default_rng(7)
    names = [f"{i}.png" if i % 3 else f"sub/{i}.png" for i in range(n - 1)] + [ODD]
    for i, rel in enumerate(names):
        size = (12, 16) if i % 2 else (10, 14)
        write_image(src / rel, rng.integers(0, 256, (*size, 3), np.uint8))
    if bad:  # and two inputs whose PNG outputs would be one file (the second fails)
        for name in ("dup.bmp", "dup.png"):
            write_image(src / name, rng.integers(0, 256, (10, 14, 3), np.uint8))
        (src / "empty.png").write_bytes(b"")
        data = encode_image(rng.integers(0, 256, (20, 20, 3), np.uint8), "png")
        (src / "cut.png").write_bytes(data[: len(data) // 2])
    return names


def _files(out: Path) -> dict[str, bytes]:
    return {
        os.fsdecode(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "ganedit-run.json"
    }


def _records(out: Path) -> dict[str, dict]:
    """The manifest's records by input, without timings and with the output folder cut off."""
    recs = {}
    for r in Manifest.load(out).records:
        r = {k: v for k, v in r.items() if k != "seconds"}
        if r["output"]:
            r["output"] = os.path.relpath(r["output"], out)
        if r["error"]:
            r["error"] = r["error"].replace(os.fspath(out), "OUT")
        assert r["input"] not in recs, f"{r['input']} recorded twice"
        recs[r["input"]] = r
    return recs


@pytest.fixture(scope="module")
def runs(ray_cluster, tmp_path_factory):
    """One local and one ray run of the same inputs (module scope: actors start once)."""
    root = tmp_path_factory.mktemp("parity")
    sys.path.insert(0, str(FIXTURES))
    reset_plugins()
    try:
        weights = save_probe_weights(root / "w" / "probe.safetensors")
        src = root / "in"
        _inputs(src)
        # a named precision: the driver and the actors run alike on any CPU (bf16 or not)
        common = {"weights": weights, "progress": False, "format": "png", "precision": "fp32"}
        local = run_folder("ray-probe", src, root / "local", **common)
        ray = run_folder(
            "ray-probe", src, root / "ray", executor="ray",
            executor_options={"worker_batch": 3}, **common,
        )  # fmt: skip
    finally:
        sys.path.remove(str(FIXTURES))
        reset_plugins()
    return {"root": root, "src": src, "weights": weights, "local": local, "ray": ray}


def test_same_files_pixels_and_records_as_local(runs) -> None:
    root, local, ray = runs["root"], runs["local"], runs["ray"]
    assert local.exit_code == ray.exit_code == 1  # the bad files
    assert sorted(local.done) == sorted(ray.done) and len(ray.done) == 7
    assert any(os.fsencode(p.name) == b"caf\xe9 \xff.png" for p in ray.done)
    a, b = _files(root / "local"), _files(root / "ray")
    assert a.keys() == b.keys() and len(a) == 7
    assert all(a[k] == b[k] for k in a), "outputs differ from the local executor's"
    assert _records(root / "local") == _records(root / "ray")
    params = Manifest.load(root / "ray").run["parameters"]
    assert params["executor"]["name"] == "ray" and params["worker_devices"] == ["cpu"]
    assert not list((root / "ray").rglob("*.ganedit-tmp"))


def test_bad_files_fail_with_their_reasons(runs) -> None:
    failed = {p.name: why for p, why in runs["ray"].failed}
    assert set(failed) == {"empty.png", "cut.png", "dup.png"}
    assert "empty" in failed["empty.png"] and "cut short" in failed["cut.png"]
    assert "would overwrite the output of" in failed["dup.png"]
    root = os.fspath(runs["root"])
    local = {p.name: why.replace(f"{root}/local", "OUT") for p, why in runs["local"].failed}
    assert {k: v.replace(f"{root}/ray", "OUT") for k, v in failed.items()} == local


def test_skip_existing_skips_all_then_redoes_a_touched_input(runs, probe_plugin) -> None:
    src, out = runs["src"], runs["root"] / "ray"
    opts = {"weights": runs["weights"], "progress": False, "skip_existing": True, "format": "png",
            "precision": "fp32"}  # fmt: skip
    again = run_folder("ray-probe", src, out, executor="ray", **opts)
    assert not again.done and len(again.skipped) + len(again.failed) == 10
    assert {"empty.png", "cut.png"} <= {p.name for p, _ in again.failed}
    touched = src / "1.png"
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    third = run_folder("ray-probe", src, out, executor="ray", **opts)
    assert [p.name for p in third.done] == ["1.png"] and len(third.skipped) == len(
        again.skipped
    ) - 1
    assert [p.name for p in third.redone] == ["1.png"]


def _cli(address: str, weights: Path, *args: str) -> list[str]:
    """``ganedit run ray-probe`` on the cluster, precision and memory format named: the driver
    measures nothing, so it never calls the probe (whose crash hook counts calls)."""
    return [
        sys.executable, "-m", "ganedit", "run", "ray-probe", "--weights", str(weights),
        "--executor", "ray", "--ray-address", address, "--threads", "1",
        "--memory-format", "contiguous", "--precision", "fp32", *args,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANEDIT_") or "CACHE" in k}
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_actor_killed_mid_run_every_input_once_and_json_stdout(
    ray_cluster, probe_plugin, tmp_path
) -> None:
    src, out, mark = tmp_path / "in", tmp_path / "out", tmp_path / "crashed"
    names = _inputs(src, n=8, bad=False)
    weights = save_probe_weights(tmp_path / "w" / "probe.safetensors")
    cmd = _cli(ray_cluster, weights, "--worker-batch", "2", "--crash-at", "2")
    cmd += ["--crash-mark", str(mark), "--json", str(src), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert mark.is_file(), "the actor was not killed"
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # JSON lines only
    assert "(raylet)" not in proc.stdout
    files = [e["input"] for e in events if e["event"] == "file"]
    assert sorted(files) == sorted(os.fspath(src / n) for n in names)  # each exactly once
    assert events[-1]["event"] == "end" and events[-1]["done"] == 8
    recs = _records(out)
    assert len(recs) == 8 and {r["status"] for r in recs.values()} == {"done"}
    assert not list(out.rglob("*.ganedit-tmp"))
    ref = run_folder(
        "ray-probe", src, tmp_path / "ref", weights=weights, progress=False, precision="fp32"
    )
    assert ref.exit_code == 0
    a, b = _files(out), _files(tmp_path / "ref")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)  # complete, same pixels


def _first_file_event(proc: subprocess.Popen, deadline: float) -> dict:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            if event["event"] == "file":
                return event
    raise AssertionError("no file event before the deadline")


def test_sigint_stops_cleanly_with_130_and_a_rerun_completes(
    ray_cluster, probe_plugin, tmp_path
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, n=8, bad=False)
    weights = save_probe_weights(tmp_path / "w" / "probe.safetensors")
    cmd = _cli(ray_cluster, weights, "--worker-batch", "1", "--delay", "0.5", "--json")
    with sigint_not_ignored():  # else a pytest started with & passes on an ignored SIGINT
        proc = subprocess.Popen(
            [*cmd, str(src), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=_env(),
        )  # fmt: skip
    try:
        _first_file_event(proc, time.monotonic() + 240)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    end = json.loads(rest.splitlines()[-1])
    assert end["event"] == "end" and end["interrupted"] == signal.SIGINT
    man = Manifest.load(out)
    assert man.run["extra"]["interrupted"] and man.run["extra"]["signal"] == "SIGINT"
    assert 1 <= len(_records(out)) < 8  # each recorded input once
    again = run_folder(
        "ray-probe", src, out, weights=weights, delay=0.5, threads="1",
        memory_format="contiguous", precision="fp32", skip_existing=True, progress=False,
        executor="ray",
    )  # fmt: skip
    assert again.exit_code == 0 and len(again.done) + len(again.skipped) == 8
    assert len(_records(out)) == 8 and not list(out.rglob("*.ganedit-tmp"))


# ------------------------------------------------------------------ multi-node training recipe
# ganedit.train runs unchanged inside Ray Train's TorchTrainer (2 CPU workers, gloo: Ray sets up
# the process group, ganedit's engine sees it and trains with DDP, rank 0 writing), and a second
# TorchTrainer with resume=True continues from the first one's checkpoint, as --resume does after
# a failed node. It shares this module's Ray instance (a second ray.init in one process timed out
# on the loaded test machine). Needs ray[train] (light on top of ray[data]: pydantic,
# tensorboardX); in CI a missing one fails. Also marked slow: Ray Train starts a controller and
# two worker actors per fit, twice.


def _fit(tmp_path: Path, steps: int, resume: bool) -> None:
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from raytrain_loop import train_loop  # importable by Ray's workers (PYTHONPATH)

    trainer = TorchTrainer(
        train_loop,
        train_loop_config={
            "data": str(tmp_path / "data"),
            "out": str(tmp_path / "run"),
            "steps": steps,
            "resume": resume,
        },  # fmt: skip
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
        torch_config=TorchConfig(backend="gloo"),
        run_config=RunConfig(storage_path=str(tmp_path / "ray-results"), name=f"s{steps}"),
    )
    trainer.fit()


@pytest.mark.slow
def test_ganedit_train_runs_in_torch_trainer_and_resumes(
    ray_cluster, probe_plugin, tmp_path
) -> None:
    try:
        import ray.train.torch  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the Ray Train test needs ray[train] in CI: {exc}")
        pytest.skip(f"ray[train] is not installed: {exc}")
    for i in range(4):
        write_test_image(tmp_path / "data" / f"{i}.png", random_image(16, 16, seed=i))
    _fit(tmp_path, steps=4, resume=False)
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first = [r["step"] for r in rows if "step" in r]
    assert max(first) == 4
    _fit(tmp_path, steps=6, resume=True)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "step" in r]
    assert max(steps) == 6 and steps.count(1) == 1  # continued: step 1 was not run again
    assert steps.count(5) == 1 and list(run.glob("*.safetensors"))  # exported by rank 0
