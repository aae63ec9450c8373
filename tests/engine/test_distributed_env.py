"""Issue 13, item 6: ``WORLD_SIZE``/``RANK`` inherited without torchrun are refused with a
clear message (never every second file, never a long wait); a launch whose other ranks never
come is refused after ``GANEDIT_DIST_TIMEOUT``. Real ranks: tests/test_torchrun_run.py."""

from __future__ import annotations

import socket
import time

import pytest
from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.engine.distributed import DistributedEnvError, check_launcher, join_group


def test_inherited_world_size_is_refused_and_nothing_is_skipped(plugin_path, tmp_path) -> None:
    images(tmp_path / "in", n=4)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    env = {"WORLD_SIZE": "2", "RANK": "0", "TORCHELASTIC_RUN_ID": None, "MASTER_ADDR": None,
           "MASTER_PORT": None}  # fmt: skip
    t0 = time.monotonic()
    result = run_tiny(weights, tmp_path / "in", tmp_path / "out", env=env)
    assert time.monotonic() - t0 < 30
    assert result.exit_code == 2, result.output
    assert "not started by torchrun" in result.output and "Unset" in result.output
    assert not (tmp_path / "out").exists()
    plain = run_tiny(weights, tmp_path / "in", tmp_path / "out", env={"WORLD_SIZE": "1"})
    assert plain.exit_code == 0 and "done 4" in plain.stdout


def test_check_launcher(monkeypatch) -> None:
    for var in ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(DistributedEnvError, match="1 file in 3"):
        check_launcher()
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(DistributedEnvError, match="outside"):
        check_launcher()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    assert check_launcher() == (1, 3)


def test_a_group_whose_ranks_never_come_is_refused_quickly(monkeypatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    t0 = time.monotonic()
    with pytest.raises(DistributedEnvError, match="could not join"):
        join_group(2.0)
    assert time.monotonic() - t0 < 30


def test_training_with_an_inherited_world_size_is_refused(plugin_path, tmp_path) -> None:
    from cli_runs import run_cli

    images(tmp_path / "data", n=2, size=(16, 16))
    env = {"WORLD_SIZE": "2", "RANK": "1", "TORCHELASTIC_RUN_ID": None, "MASTER_ADDR": None,
           "MASTER_PORT": None}  # fmt: skip
    result = run_cli("train", "tiny-sr", "--data", tmp_path / "data", "--out", tmp_path / "run",
                     "--steps", "1", "--device", "cpu", env=env)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "not started by torchrun" in result.output
