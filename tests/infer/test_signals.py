"""Issue 13, item 12: Ctrl-C (SIGINT) and SIGTERM end a folder run cleanly: the files in flight
are finished, the manifest is written (marked interrupted), the end event is sent, the lock
is released, and the exit code is 130 / 143."""

from __future__ import annotations

import json
import signal

import pytest
from cli_runs import ganedit_process, images, save_tiny_weights

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_cleanly(plugin_path, tmp_path, sig: int, code: int) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=150, size=(48, 48))
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    proc = ganedit_process("run", "tiny-sr", "--weights", weights, "--device", "cpu",
                           "--json", "--jobs", "1", src, out)  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if '"event": "file"' in line:
            proc.send_signal(sig)
            break
    rest, err = proc.communicate(timeout=120)
    lines += rest.splitlines()
    assert proc.returncode == code, err[-2000:]
    evs = [json.loads(x) for x in lines if x.startswith("{")]
    end = evs[-1]
    assert end["event"] == "end" and end["interrupted"] == int(sig)
    assert 1 <= end["done"] < 150
    data = json.loads((out / "ganedit-run.json").read_text())
    assert data["finished"] and data["extra"]["interrupted"] is True
    assert data["extra"]["signal"] == signal.Signals(sig).name
    assert data["counts"]["done"] == end["done"]
    assert not list(out.glob(".*.ganedit-tmp")) and not (out / ".ganedit-run.lock").exists()
    assert "Traceback" not in err
