"""Multi-node training recipe: ``ganedit.train`` runs unchanged inside Ray Train's
``TorchTrainer`` (2 CPU workers, gloo: Ray sets up the process group, ganedit's engine sees it
and trains with DDP, rank 0 writing), and a second ``TorchTrainer`` with ``resume=True``
continues from the first one's checkpoint, as ``--resume`` does after a failed node.

Needs ``ray[train]`` (light on top of ``ray[data]``: pydantic, tensorboardX); in CI a missing
one fails. Marked ``slow`` as well as ``ray``: Ray Train starts a controller and two worker
actors per ``fit``, twice; on the 2-core development machine, loaded by other jobs (load
average 15), it took 279 s. Run with ``pytest -m ray``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from imagefiles import random_image, write_test_image

pytestmark = [pytest.mark.ray, pytest.mark.slow]

#: Logical CPUs of the module's Ray instance: two train workers plus Ray Train's controller.
RAY_NUM_CPUS = 3


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
