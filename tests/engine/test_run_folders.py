"""Issue 13, item 5: ``ganedit train --out`` into a folder that holds a run, without
``--resume``, is refused (exit 2, nothing changed); ``--overwrite`` starts afresh without
mixing the two runs; ``--resume`` then continues that run from its last step."""

from __future__ import annotations

import json

import pytest
from cli_runs import images, run_cli

pytestmark = pytest.mark.slow


def _train(data, run, *extra):
    return run_cli("train", "tiny-sr", "--data", data, "--out", run, "--steps", "2",
                   "--batch-size", "2", "--device", "cpu", "--channels", "4", "--set",
                   "crop=8", "--checkpoint-every", "1", *extra)  # fmt: skip


def test_training_into_a_finished_run_is_refused_then_overwritten(plugin_path, tmp_path) -> None:
    images(tmp_path / "data", n=4, size=(16, 16))
    data, run = tmp_path / "data", tmp_path / "run"
    first = _train(data, run)
    assert first.exit_code == 0, first.output
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    metrics = (run / "metrics.jsonl").read_text()

    again = _train(data, run)
    assert again.exit_code == 2, again.output
    assert "already holds a training run" in again.output and "--overwrite" in again.output
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before and (run / "metrics.jsonl").read_text() == metrics

    (run / "notes.txt").write_text("mine")
    (run / "other.safetensors").write_bytes(b"not ours")
    fresh = _train(data, run, "--overwrite", "--steps", "1")
    assert fresh.exit_code == 0, fresh.output
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files are deleted
    assert (run / "other.safetensors").read_bytes() == b"not ours"
    checkpoints = sorted(p.name for p in (run / "checkpoints").glob("step-*.json"))
    assert checkpoints == ["step-00000001.json"]  # the old run's step 2 is gone
    fresh_metrics = (run / "metrics.jsonl").read_text()
    assert [json.loads(line)["step"] for line in fresh_metrics.splitlines()] == [1]

    resumed = _train(data, run, "--resume")  # --steps 2: from the fresh run's step 1 to 2
    assert resumed.exit_code == 0, resumed.output
    checkpoints = sorted(p.name for p in (run / "checkpoints").glob("step-*.json"))
    assert checkpoints == ["step-00000001.json", "step-00000002.json"]
    metrics = (run / "metrics.jsonl").read_text()
    assert metrics.startswith(fresh_metrics)  # step 1 kept as it was, not trained again
    assert [json.loads(line)["step"] for line in metrics.splitlines()] == [1, 2]


def test_a_run_folder_inside_the_data_is_refused(plugin_path, tmp_path) -> None:
    images(tmp_path / "data", n=2, size=(16, 16))
    result = _train(tmp_path / "data", tmp_path / "data" / "run")
    assert result.exit_code == 2, result.output
    assert "inside the input folder" in result.output
    assert not (tmp_path / "data" / "run").exists()
