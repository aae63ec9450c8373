"""Training precision by measurement (:func:`ganedit.engine.choose_training_precision`): the
family's own training step timed in each candidate, no trace left by the measurement, the
choice saved with the run and kept on resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from tiny_kit import GANConfig, TinyGAN, tiny_data

from ganedit import measured
from ganedit.engine import Engine, fit

pytestmark = pytest.mark.usefixtures("formats_cache", "bf16_cpu")


def _fit(out, steps, precision="auto", resume=False):
    engine = Engine(
        device="cpu", deterministic=True, seed=3, precision=precision, memory_format="contiguous"
    )
    cfg = GANConfig(ema_decay=0.8)
    res = fit(
        TinyGAN(), cfg, tiny_data(10), out, engine, steps=steps, checkpoint_every=4,
        sample_every=0, log_every=1, progress=False, resume=resume,
    )  # fmt: skip
    return res, engine


def _same(a, b) -> bool:
    x, y = load_file(str(a)), load_file(str(b))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_auto_measures_the_training_step_and_leaves_no_trace(tmp_path, fake_timings) -> None:
    ran = fake_timings("bf16")
    auto, engine = _fit(tmp_path / "auto", 5)
    assert sorted(ran) == ["bf16", "fp32"]
    assert engine.precision.name == "bf16" and engine.precision.source == "measured"
    named, _ = _fit(tmp_path / "named", 5, precision="bf16")
    assert _same(auto.weights, named.weights)  # the timed steps were undone, RNG included
    card = json.loads(auto.weights.with_suffix(".json").read_text())
    assert card["training"]["precision"] == "bf16-mixed"
    assert card["training"]["precision_choice"].startswith("bf16 (measured: bf16 ")


def test_fp32_kept_when_faster_and_a_named_precision_measures_nothing(
    tmp_path, fake_timings
) -> None:
    ran = fake_timings("fp32")
    _, engine = _fit(tmp_path / "a", 2)
    assert engine.precision.name == "fp32" and engine.strategy.name == "fp32"
    ran.clear()
    _, named = _fit(tmp_path / "b", 2, precision="fp32")
    assert named.precision.source == "requested" and ran == []


def test_resume_keeps_the_saved_precision_and_is_exact(tmp_path, fake_timings) -> None:
    fake_timings("bf16")
    full, _ = _fit(tmp_path / "full", 9)
    _fit(tmp_path / "part", 5)
    measured._SEEN.clear()
    ran = fake_timings("fp32")  # this machine would now choose fp32 ...
    res, engine = _fit(tmp_path / "part", 9, resume=True)
    assert ran == []  # ... but a resumed run measures nothing: it keeps its checkpoint's bf16
    assert engine.precision.name == "bf16" and engine.precision.source == "resumed"
    assert _same(full.weights, res.weights)
