"""The ``hint`` option of ``inpaint`` (issue 21): the generator also sees ``cv2.inpaint``'s
fill (:func:`ganedit_inpaint.compose.classical_fill`, :func:`ganedit_inpaint.fill.hint_input`)
and ``scripts/add_inpaint_hint.py`` forks a run into a hinted one without changing its output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from ganedit_inpaint import compose
from ganedit_inpaint.family import Inpaint, InpaintConfig
from ganedit_inpaint.fill import fill_and_base, hint_input

import ganedit
from ganedit.config import update_config
from ganedit.engine.checkpoint import list_checkpoints, load_state
from ganedit.weights import load_weights

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "width": 4, "downsamplings": 2, "blocks": 1, "crop_size": 16, "batch_size": 2,
    "d_width": 4, "d_layers": 1, "smooth_iters": 2, "ema_decay": 0.9, "norm": "none",
    "gate": True, "prefill": "smooth", "output_gate": False, "head_scale": 1.0,
}  # fmt: skip


def tiny(**kw: object) -> InpaintConfig:
    return update_config(InpaintConfig(), {**TINY, **kw})


def _edge(h: int = 32, w: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A dark left half and a bright right half, and a square hole across the edge."""
    x = torch.full((1, 3, h, w), 0.1)
    x[..., w // 2 :] = 0.9
    m = torch.zeros(1, 1, h, w)
    m[..., 8:24, 8:24] = 1
    return x, m


@pytest.mark.parametrize("method", ["ns", "telea"])
def test_classical_fill_continues_an_edge_and_keeps_the_rest(method: str) -> None:
    """Inside the hole the fill stays dark left of the edge and bright right of it (a smooth
    fill would meet in the middle); outside it is the input at 8 bits."""
    x, m = _edge()
    x[0, :, 0, 0] = 0.5004  # quantised to 128 / 255
    y = compose.classical_fill(x, m, method)
    assert y.shape == x.shape and y.dtype == torch.float32
    outside = m.expand_as(x) < 0.5
    assert torch.equal(y[outside], (x * 255 + 0.5).floor().div(255)[outside])
    assert y[0, :, 16, 9].max() < 0.3 and y[0, :, 16, 22].min() > 0.7
    smooth = compose.smooth_fill(x, m, 16)
    assert (y[0, :, 16, 9] < smooth[0, :, 16, 9]).all()  # sharper than the membrane


def test_cv2_fill_refuses_an_unknown_method() -> None:
    img, hole = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool)
    with pytest.raises(ValueError, match="'ns', 'telea'"):
        compose.cv2_fill(img, hole, "fmm")


def test_the_hint_adds_three_input_channels_that_reach_the_output() -> None:
    x, m = _edge()
    assert hint_input(x, m, tiny()) == []
    (hint,) = hint_input(x, m, tiny(hint="ns"))
    assert hint.shape == (1, 3, 32, 32)
    g = Inpaint().build_generator("generator", tiny(hint="ns")).eval()
    assert g.in_channels == 7 and g.encoder[0].weight.shape[1] == 7
    with torch.no_grad():
        a = fill_and_base(g, x, m, tiny(hint="ns"))[0]
        g.encoder[0].weight[:, 4:7] = 0  # the hint's columns off: another output
        b = fill_and_base(g, x, m, tiny(hint="ns"))[0]
    assert not torch.equal(a * m, b * m)


def test_conformance_with_the_hint() -> None:
    """Training, exact resume and seeded inference with the NS hint (and decoder blur)."""
    from ganedit.testing import check_family

    check_family(Inpaint, tiny(hint="ns", decoder_blur=True))


def _photos(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    for i in range(3):
        img = np.kron(rng.random((4, 4, 3)), np.ones((8, 8, 1))) * 255
        ganedit.write_image(folder / f"{i}.png", img.round().astype(np.uint8))
    return folder


def test_the_fork_script_keeps_the_output_and_resumes_with_the_hint(tmp_path: Path) -> None:
    """A 3-step run, forked with ``--hint ns``: the forked generators (raw and EMA) fill
    exactly as the old ones did, Adam's moments are widened, and the fork resumes."""
    data = _photos(tmp_path / "photos")
    sets = [f"{k}={v}" for k, v in TINY.items()]
    kw = {"device": "cpu", "progress": False, "sample_every": 0, "checkpoint_every": 3}
    ganedit.train("inpaint", data=[data], out=tmp_path / "old", steps=3, overrides=sets, **kw)
    script = ROOT / "scripts" / "add_inpaint_hint.py"
    args = [sys.executable, str(script), str(tmp_path / "old"), str(tmp_path / "new")]
    proc = subprocess.run(args + ["--hint", "ns"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    old, _ = load_state(list_checkpoints(tmp_path / "old" / "checkpoints")[-1])
    new, doc = load_state(list_checkpoints(tmp_path / "new" / "checkpoints")[-1])
    assert doc["meta"]["config"]["hint"] == "ns"
    run_config = json.loads((tmp_path / "new" / "config.json").read_text())
    assert run_config["config"]["hint"] == "ns"
    assert new["opts"]["g"]["state"][0]["exp_avg"].shape[1] == 7
    x, m = _edge()
    for part in ("nets", "ema"):
        a = Inpaint().build_generator("generator", tiny()).eval()
        b = Inpaint().build_generator("generator", tiny(hint="ns")).eval()
        a.load_state_dict(old[part]["generator"])
        b.load_state_dict(new[part]["generator"])
        with torch.no_grad():
            fa = fill_and_base(a, x, m, tiny())[0]
            fb = fill_and_base(b, x, m, tiny(hint="ns"))[0]
        assert torch.equal(fa, fb)
    ganedit.train(
        "inpaint", data=[data], out=tmp_path / "new", steps=4, resume=True,
        overrides=[*sets, "hint=ns"], **kw,
    )  # fmt: skip
    assert list_checkpoints(tmp_path / "new" / "checkpoints")[-1].name == "step-00000004.json"
    newest = list_checkpoints(tmp_path / "new" / "checkpoints")[-1]
    before = newest.read_bytes()
    twice = [sys.executable, str(script), str(tmp_path / "new"), str(tmp_path / "newer")]
    refused = subprocess.run(twice, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "already has 7 inputs" in refused.stderr
    onto = subprocess.run(args + ["--hint", "ns"], capture_output=True, text=True, timeout=300)
    assert onto.returncode != 0 and "already exists" in onto.stderr  # never written into
    assert newest.read_bytes() == before


def test_the_seed_script_puts_a_weights_file_into_a_fresh_hinted_run(tmp_path: Path) -> None:
    """``scripts/seed_inpaint_run.py``: a fresh hinted run's generators (raw and EMA) become
    an unhinted run's exported generator (stem widened by zero hint columns), the generator's
    Adam state is emptied, the run resumes, and a second seeding is refused unchanged."""
    data = _photos(tmp_path / "photos")
    sets = [f"{k}={v}" for k, v in TINY.items()]
    kw = {"device": "cpu", "progress": False, "sample_every": 0, "checkpoint_every": 3}
    ganedit.train("inpaint", data=[data], out=tmp_path / "old", steps=3, overrides=sets, **kw)
    weights = tmp_path / "old" / "inpaint.safetensors"
    hinted = [*sets, "hint=ns"]
    ganedit.train("inpaint", data=[data], out=tmp_path / "new", steps=3, overrides=hinted, **kw)
    script = [sys.executable, str(ROOT / "scripts" / "seed_inpaint_run.py")]
    args = [*script, str(tmp_path / "new"), str(weights)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flat, _ = load_weights(weights)
    state, doc = load_state(list_checkpoints(tmp_path / "new" / "checkpoints")[-1])
    assert doc["step"] == 3 and doc["meta"]["seeded_from"]["file"] == str(weights)
    assert state["opts"]["g"]["state"] == {}
    for part in ("nets", "ema"):
        seeded = state[part]["generator"]
        for key, value in seeded.items():
            want = flat[f"generator.{key}"].float()
            if key == "encoder.0.weight":
                assert torch.equal(value[:, 4:7], torch.zeros_like(value[:, 4:7]))
                value = torch.cat([value[:, :4], value[:, 7:]], 1)
            assert torch.equal(value, want), key
    x, m = _edge()
    a = Inpaint().build_generator("generator", tiny()).eval()
    a.load_state_dict({k[len("generator.") :]: v.float() for k, v in flat.items()})
    b = Inpaint().build_generator("generator", tiny(hint="ns")).eval()
    b.load_state_dict(state["ema"]["generator"])
    with torch.no_grad():
        assert torch.equal(
            fill_and_base(a, x, m, tiny())[0], fill_and_base(b, x, m, tiny(hint="ns"))[0]
        )
    newest = list_checkpoints(tmp_path / "new" / "checkpoints")[-1]
    before = newest.read_bytes()
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "already seeded" in again.stderr
    assert newest.read_bytes() == before
    ganedit.train(
        "inpaint", data=[data], out=tmp_path / "new", steps=4, resume=True, overrides=hinted, **kw
    )
    assert list_checkpoints(tmp_path / "new" / "checkpoints")[-1].name == "step-00000004.json"


def _grad_shares(out: str) -> dict[str, tuple[float, float]]:
    """``term -> (grad norm, share %)`` from ``inpaint_grad_share.py``'s output."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[1] == "value":
            rows[parts[0]] = (float(parts[4]), float(parts[6].rstrip("%")))
    return rows


def test_the_grad_share_script_reads_a_run_checkpoint(tmp_path: Path) -> None:
    """``scripts/inpaint_grad_share.py --checkpoint``: the run's own networks and config are
    measured (a ``--set`` on top scales that term's gradient and no other), and the shares
    add up to 100 %."""
    data = _photos(tmp_path / "photos")
    sets = [f"{k}={v}" for k, v in {**TINY, "texture_weight": 10.0}.items()]
    kw = {"device": "cpu", "progress": False, "sample_every": 0, "checkpoint_every": 3}
    ganedit.train("inpaint", data=[data], out=tmp_path / "run", steps=3, overrides=sets, **kw)
    ckpt = list_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    script = [sys.executable, str(ROOT / "scripts" / "inpaint_grad_share.py"), "--data", str(data)]
    runs = {}
    for weight in (10, 100):
        args = [*script, "--checkpoint", str(ckpt), "--set", f"texture_weight={weight}"]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[weight] = _grad_shares(proc.stdout)
    assert {"texture", "adv", "fm"} <= set(runs[10])
    assert sum(share for _, share in runs[10].values()) == pytest.approx(100, abs=0.5)
    assert runs[100]["texture"][0] == pytest.approx(10 * runs[10]["texture"][0], rel=1e-3)
    assert runs[100]["adv"][0] == pytest.approx(runs[10]["adv"][0], rel=1e-3)
    assert runs[100]["texture"][1] > runs[10]["texture"][1]
