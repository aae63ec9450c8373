"""``scripts/transposed_to_resize.py``: an ``upsample=transposed`` inpaint run becomes an
``upsample=resize`` one (issue 21: the transposed decoder's lattice)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ganedit_inpaint.family import Inpaint, InpaintConfig
from test_inpaint_hint import _photos  # the tiny blocky photos, one place
from torch.nn import functional as F

import ganedit
from ganedit.config import update_config
from ganedit.engine.checkpoint import list_checkpoints, load_state

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "transposed_to_resize.py"
TINY = {
    "width": 4, "downsamplings": 2, "blocks": 1, "crop_size": 16, "batch_size": 2,
    "d_width": 4, "d_layers": 1, "smooth_iters": 2, "ema_decay": 0.9, "norm": "none",
    "gate": True, "prefill": "smooth", "output_gate": False, "head_scale": 1.0,
    "upsample": "transposed", "decoder_noise": 0.1, "decoder_blur": True,
}  # fmt: skip


def _script():  # noqa: ANN202 - the module under test
    spec = importlib.util.spec_from_file_location("transposed_to_resize", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _taps(layer: torch.nn.Module, up: bool) -> torch.Tensor:
    """Coefficients of ``layer`` (1 channel) as a ``(phase a, offset r)`` x ``(phase b,
    offset s)`` table, read off its response to an impulse at input ``(4, 4)`` of a 9x9 map."""
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1
    with torch.no_grad():
        y = layer(F.interpolate(x, scale_factor=2, mode="nearest") if up else x)[0, 0]
    table = torch.zeros(6, 6)
    for a in (0, 1):
        for r in (-1, 0, 1):
            for b in (0, 1):
                for s in (-1, 0, 1):  # output (2i + a, 2j + b) sees x[i + r, j + s]: i = 4 - r
                    table[a * 3 + r + 1, b * 3 + s + 1] = y[2 * (4 - r) + a, 2 * (4 - s) + b]
    return table.double()


def test_the_phase_tables_are_torchs_layers() -> None:
    """The 1D tables ``A`` (resize) and ``B`` (transposed) reproduce what torch's layers do to
    an impulse, for every 3x3 basis kernel (the 2D table is their Kronecker product)."""
    m = _script()
    for t in range(9):
        kernel = torch.zeros(1, 1, 3, 3)
        kernel.view(-1)[t] = 1
        conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        convt = torch.nn.ConvTranspose2d(1, 1, 3, 2, 1, output_padding=1, bias=False)
        conv.weight.data, convt.weight.data = kernel.clone(), kernel.clone()
        ty, tx = divmod(t, 3)
        a, b = m._RESIZE_1D, m._TRANSPOSED_1D
        assert torch.equal(_taps(conv, True), torch.outer(a[:, ty], a[:, tx]))
        assert torch.equal(_taps(convt, False), torch.outer(b[:, ty], b[:, tx]))


def test_the_resize_kernel_is_the_least_squares_fit() -> None:
    """Over all phases and offsets no other 3x3 kernel is closer to the transposed one; a
    phase-even transposed kernel (it has no checkerboard) is not one, so the fit is not exact."""
    m = _script()
    gen = torch.Generator().manual_seed(0)
    k = torch.randn(2, 3, 3, 3, generator=gen, dtype=torch.float64)
    w = m.resize_kernel(k)
    assert w.shape == (3, 2, 3, 3) and w.dtype == torch.float64
    a2 = torch.kron(m._RESIZE_1D, m._RESIZE_1D)
    b2 = torch.kron(m._TRANSPOSED_1D, m._TRANSPOSED_1D)

    def error(kernel_w: torch.Tensor) -> torch.Tensor:
        fit = kernel_w.reshape(3, 2, 9) @ a2.T
        want = k.transpose(0, 1).reshape(3, 2, 9) @ b2.T
        return (fit - want).square().sum()

    best = error(w)
    assert best > 1e-3
    for _ in range(20):
        assert error(w + 1e-2 * torch.randn(w.shape, generator=gen, dtype=w.dtype)) > best
    with pytest.raises(ValueError, match="3x3"):
        m.resize_kernel(torch.zeros(2, 3, 4, 4))


def test_the_script_converts_distils_and_resumes(tmp_path: Path) -> None:
    """A 3-step transposed run becomes a resize run: its generators load into a resize
    generator, the distillation lowers its error, the generator's Adam state is emptied and the
    discriminator and its optimiser are copied, the run files come along, it
    resumes, and it is never written over."""
    data = _photos(tmp_path / "photos")
    sets = [f"{k}={v}" for k, v in TINY.items()]
    kw = {"device": "cpu", "progress": False, "sample_every": 0, "checkpoint_every": 3}
    ganedit.train("inpaint", data=[data], out=tmp_path / "old", steps=3, overrides=sets, **kw)
    src = list_checkpoints(tmp_path / "old" / "checkpoints")[-1]
    new_run = tmp_path / "new"
    args = [sys.executable, str(SCRIPT), str(src), str(new_run), "--distil", str(data)]
    proc = subprocess.run(args + ["--steps", "60"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    old, _ = load_state(src)
    new, doc = load_state(list_checkpoints(new_run / "checkpoints")[-1])
    meta = doc["meta"]
    assert meta["config"]["upsample"] == "resize" and meta["converted_from"]["step"] == 3
    losses = meta["distilled"]["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert json.loads((new_run / "config.json").read_text())["config"]["upsample"] == "resize"
    assert (new_run / "metrics.jsonl").read_text() == (
        tmp_path / "old" / "metrics.jsonl"
    ).read_text()
    config = update_config(InpaintConfig(), {**TINY, "upsample": "resize"})
    net = Inpaint().build_generator("generator", config)
    for part in ("nets", "ema"):
        net.load_state_dict(new[part]["generator"])  # strict: every key and shape
    for key, value in old["nets"]["discriminator"].items():
        assert torch.equal(new["nets"]["discriminator"][key], value), key
    assert new["opts"]["g"]["state"] == {}  # a fresh Adam for the generator
    d_old, d_new = old["opts"]["d"]["state"], new["opts"]["d"]["state"]
    assert d_old.keys() == d_new.keys() and d_old
    for index, entry in d_old.items():
        assert all(torch.equal(d_new[index][k], v) for k, v in entry.items()), index
    ganedit.train(
        "inpaint", data=[data], out=new_run, steps=4, resume=True,
        overrides=[*sets, "upsample=resize"], **kw,
    )  # fmt: skip
    assert list_checkpoints(new_run / "checkpoints")[-1].name == "step-00000004.json"
    newest = list_checkpoints(new_run / "checkpoints")[-1].read_bytes()
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "exists" in again.stderr
    assert list_checkpoints(new_run / "checkpoints")[-1].read_bytes() == newest
    onto = [
        sys.executable,
        str(SCRIPT),
        str(list_checkpoints(new_run / "checkpoints")[-1]),
        str(tmp_path / "x"),
    ]
    refused = subprocess.run(onto, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "only upsample=transposed" in refused.stderr
    assert not (tmp_path / "x").exists()
