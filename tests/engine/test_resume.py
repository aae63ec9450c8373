import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_kit import GANConfig, fit_tiny

from ganedit.engine import CheckpointError, load_state, save_state
from ganedit.engine.checkpoint import list_checkpoints

HERE = Path(__file__).parent
REPO = HERE.parent.parent
KIT = HERE.parent  # tests/: tiny_kit.py


def _run(out, steps, resume=False):
    return fit_tiny(out, steps, config=GANConfig(ema_decay=0.8), resume=resume)


def test_resume_is_bitwise_exact(tmp_path):
    full = _run(tmp_path / "full", 11)
    part = _run(
        tmp_path / "part", 6
    )  # checkpoints at 4 and (end) 6; data wraps an epoch (10 items)
    assert part.step == 6
    res = _run(tmp_path / "part", 11, resume=True)
    assert res.step == 11
    a = load_file(str(full.weights))
    b = load_file(str(res.weights))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa = load_file(str(tmp_path / "full/checkpoints/step-00000011.safetensors"))
    sb = load_file(str(tmp_path / "part/checkpoints/step-00000011.safetensors"))
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k  # nets, EMA, Adam moments, RNG states
    ja = json.loads((tmp_path / "full/checkpoints/step-00000011.json").read_text())["state"]
    jb = json.loads((tmp_path / "part/checkpoints/step-00000011.json").read_text())["state"]
    assert ja["data"] == jb["data"] == {"epoch": 4, "index": 4, "seed": 3}
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "part/metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 12))


def test_state_round_trip_keeps_types(tmp_path):
    opt_like = {
        "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
        "param_groups": [{"lr": 0.1, "betas": (0.5, 0.999), "params": [0], "foreach": None}],
    }
    path = save_state(
        tmp_path / "s",
        {"opt": opt_like, "name": "x", "n": 3, "rng": torch.arange(5, dtype=torch.uint8)},
        step=3,
    )
    state, doc = load_state(path)
    assert doc["step"] == 3
    assert state["opt"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert list(state["opt"]["state"]) == [0] and torch.equal(
        state["opt"]["state"][0]["exp_avg"], torch.ones(2)
    )
    assert state["rng"].dtype == torch.uint8 and state["name"] == "x"
    with pytest.raises(CheckpointError, match="without pickle"):
        save_state(tmp_path / "bad", {"x": object()}, step=0)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_checkpoints_are_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    res = _run(tmp_path / "run", 4)
    ck = res.checkpoint
    tensors = ck.with_suffix(".safetensors")
    payload = pickle.dumps(_Evil(marker), protocol=4)
    # 1) a torch.save file renamed to the checkpoint's tensor file
    torch.save({"x": _Evil(marker)}, tensors)
    with pytest.raises(CheckpointError, match="pickle"):
        load_state(ck)
    # 2) a raw pickle given directly as the checkpoint
    (tmp_path / "evil.pt").write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle"):
        load_state(tmp_path / "evil.pt")
    # 3) the JSON pointing at a pickle file
    (ck.parent / "evil.pkl").write_bytes(payload)
    doc = json.loads(ck.read_text())
    doc["tensors"] = "evil.pkl"
    ck.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"\.safetensors"):
        load_state(ck)
    doc["tensors"] = "../evil.safetensors"
    ck.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError):
        load_state(ck)
    # 4) a pickle renamed *.safetensors and referenced by the JSON
    (ck.parent / "evil.safetensors").write_bytes(payload)
    doc["tensors"] = "evil.safetensors"
    ck.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="pickle"):
        load_state(ck)
    # resuming from the tampered run refuses too
    with pytest.raises(CheckpointError):
        _run(tmp_path / "run", 6, resume=True)
    assert not marker.exists()


def test_altered_checkpoint_is_refused(tmp_path):
    res = _run(tmp_path / "run", 4)
    t = res.checkpoint.with_suffix(".safetensors")
    data = load_file(str(t))
    data = {k: v.clone() for k, v in data.items()}
    save_file(data, str(t))  # valid safetensors but different bytes (no metadata)
    with pytest.raises(CheckpointError, match="sha256"):
        load_state(res.checkpoint)


SCRIPT = """
import sys, time
sys.path.insert(0, {kit!r})
from tiny_kit import GANConfig, TinyGAN, fit_tiny, tiny_data
from ganedit.engine import Engine, fit

class Slow(TinyGAN):
    def training_step(self, step, batch):
        time.sleep(0.05)
        return super().training_step(step, batch)

res = fit(Slow(), GANConfig(), tiny_data(), sys.argv[1], Engine(device="cpu"), steps=int(sys.argv[2]),
          resume=True, checkpoint_every=1000, sample_every=0, log_every=1, progress=False)
print("RESULT", res.step, res.interrupted, flush=True)
"""


def test_sigterm_finishes_step_saves_and_exits(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(kit=str(KIT)))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 3):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    step = int(stdout.split("RESULT")[1].split()[0])
    assert "True" in stdout.split("RESULT")[1] and 3 <= step < 100000
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == [f"step-{step:08d}.json"]
    assert (out / "tiny-gan.safetensors").is_file()
    # resume continues from there to the end
    done = subprocess.run(
        [sys.executable, str(script), str(out), str(step + 2)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"RESULT {step + 2} False" in done.stdout
