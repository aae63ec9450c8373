"""Learning-rate schedules: the curve, its use in fit (and exact resume), the CLI and train()."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from tiny_kit import GANConfig, TinyGAN, fit_tiny, tiny_data

from ganedit.engine import Engine, fit
from ganedit.engine.schedule import LRSchedule, apply_lr, base_lrs


def test_constant_is_one_everywhere() -> None:
    s = LRSchedule()
    assert [s.factor(i, 10) for i in range(10)] == [1.0] * 10


def test_cosine_runs_from_one_to_min_ratio() -> None:
    s = LRSchedule("cosine", min_ratio=0.1)
    f = [s.factor(i, 11) for i in range(11)]
    assert f[0] == pytest.approx(1.0) and f[-1] == pytest.approx(0.1)
    assert f[5] == pytest.approx(0.1 + 0.9 * 0.5)  # half-way: the cosine's mid-point
    assert all(a > b for a, b in zip(f, f[1:], strict=False))  # strictly decreasing
    assert s.factor(50, 11) == pytest.approx(0.1)  # past the end: stays at the floor


def test_linear_and_warmup() -> None:
    s = LRSchedule("linear", warmup_steps=4)
    assert [s.factor(i, 9) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert [s.factor(i, 9) for i in range(4, 9)] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert LRSchedule("constant", warmup_steps=2).factor(0, 5) == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "step"}, "constant, cosine, linear"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"min_ratio": 1.5}, "min_lr_ratio"),
    ],
)
def test_bad_schedules_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LRSchedule(**kwargs)


def test_apply_lr_scales_every_group_from_its_own_base() -> None:
    w = torch.nn.Parameter(torch.zeros(2))
    v = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([{"params": [w], "lr": 1e-3}, {"params": [v], "lr": 4e-3}])
    base = base_lrs({"g": opt})
    apply_lr({"g": opt}, base, 0.5)
    apply_lr({"g": opt}, base, 0.25)  # from the base, not compounded
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([2.5e-4, 1e-3])


class _StopAt:
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, engine, step):
        if step == self.at:
            engine.should_stop = True  # what SIGINT/SIGTERM do


def _run(out, steps, schedule, resume=False, lr=2e-3, stop_at=None):
    return fit_tiny(
        out,
        steps,
        config=GANConfig(lr=lr),
        callbacks=[_StopAt(stop_at)] if stop_at else [],
        resume=resume,
        lr_schedule=schedule,
    )


def test_fit_follows_the_curve_and_records_it(tmp_path) -> None:
    schedule = LRSchedule("cosine", warmup_steps=2, min_ratio=0.0)
    result = _run(tmp_path / "run", 8, schedule)
    logged = [
        json.loads(line)["lr_factor"]
        for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()
    ]
    assert logged == pytest.approx([schedule.factor(i, 8) for i in range(8)], abs=1e-6)
    assert logged[-1] == 0.0 and logged[1] == 1.0
    ckpt = json.loads((tmp_path / "run/checkpoints/step-00000008.json").read_text())["state"]
    for opt in ckpt["opts"].values():  # the optimisers really ran at those rates
        assert opt["param_groups"][0]["lr"] == 0.0
    card = json.loads(result.weights.with_suffix(".json").read_text())
    assert card["training"]["lr_schedule"] == schedule.to_dict()


def test_a_zero_rate_step_leaves_the_weights_alone(tmp_path) -> None:
    """Linear decay to 0 over 4 steps: rates [1, 2/3, 1/3, 0] x lr; step 4 must not move a
    weight, the steps before it must."""
    snapshots = []

    class Snap:
        def on_step_end(self, engine):
            gen = engine.nets_raw["generator"]
            snapshots.append([p.detach().clone() for p in gen.parameters()])

    engine = Engine(device="cpu", deterministic=True, seed=3, callbacks=[Snap()])
    fit(
        TinyGAN(),
        GANConfig(),
        tiny_data(10),
        tmp_path / "run",
        engine,
        steps=4,
        sample_every=0,
        progress=False,
        lr_schedule=LRSchedule("linear", min_ratio=0.0),
    )
    assert len(snapshots) == 4
    same = [
        all(torch.equal(a, b) for a, b in zip(x, y, strict=True))
        for x, y in zip(snapshots, snapshots[1:], strict=False)
    ]
    assert same == [False, False, True]


def test_resume_with_a_schedule_is_bitwise_exact(tmp_path) -> None:
    schedule = LRSchedule("cosine", warmup_steps=3, min_ratio=0.05)
    full = _run(tmp_path / "full", 11, schedule)
    part = _run(tmp_path / "part", 11, schedule, stop_at=6)  # interrupted mid-curve
    assert part.interrupted and part.step == 6
    res = _run(tmp_path / "part", 11, schedule, resume=True)
    a, b = load_file(str(full.weights)), load_file(str(res.weights))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_takes_a_new_base_rate(tmp_path) -> None:
    """The base rate is the Config's lr on every start, so ``--resume --lr X`` takes effect."""
    _run(tmp_path / "run", 4, LRSchedule())
    _run(tmp_path / "run", 6, LRSchedule(), resume=True, lr=5e-4)
    ckpt = json.loads((tmp_path / "run/checkpoints/step-00000006.json").read_text())["state"]
    assert all(math.isclose(o["param_groups"][0]["lr"], 5e-4) for o in ckpt["opts"].values())


def test_hold_phase_then_linear_to_zero() -> None:
    """The translation papers' schedule: the full rate for half the steps, then linear to 0."""
    s = LRSchedule("linear", hold_steps=50)
    factors = [s.factor(i, 100) for i in range(100)]
    assert factors[:50] == [1.0] * 50
    assert factors[50] == 1.0 and factors[-1] == 0.0
    assert all(a > b for a, b in zip(factors[50:], factors[51:], strict=False))
    with pytest.raises(ValueError, match="hold_steps"):
        LRSchedule(hold_steps=-1)
