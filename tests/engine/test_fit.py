import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tiny_kit import GANConfig, TinyGAN, TinyImage, tiny_data

from ganedit.engine import Engine, TrainingDiverged, fit, plot_run
from ganedit.engine.checkpoint import list_checkpoints
from ganedit.io import read_image, write_image
from ganedit.weights import load_weights


def _fit(family, cfg, out, steps, **kw):
    kw.setdefault("progress", False)
    engine = kw.pop("engine", None) or Engine(device="cpu", deterministic=True)
    return fit(family, cfg, kw.pop("data", None) or tiny_data(), out, engine, steps=steps, **kw)


def test_fit_writes_run_folder(tmp_path, fp32_cpu):
    """(A CPU without half instructions: auto precision is fp32, as the card check expects.)"""
    res = _fit(
        TinyGAN(),
        GANConfig(ema_decay=0.9),
        tmp_path,
        7,
        checkpoint_every=2,
        keep_last=2,
        sample_every=3,
        log_every=2,
    )
    assert res.step == 7 and not res.interrupted
    # keep_last=2 of steps 2, 4, 6 and the final 7
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == [
        "step-00000006.json",
        "step-00000007.json",
    ]
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 7]
    assert all(np.isfinite(r["d"]) and np.isfinite(r["g"]) and r["img_per_s"] > 0 for r in rows)
    grids = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert grids == ["step-00000003.png", "step-00000006.png", "step-00000007.png"]
    grid = read_image(tmp_path / "samples" / "step-00000007.png")
    assert grid.shape == (4 * 10 + 2, 4 * 10 + 2, 1)  # 16 fixed latents, 8x8 tiles, pad 2
    state, card = load_weights(res.weights)
    assert card["family"] == "tiny-gan" and card["config"]["ema_decay"] == 0.9
    assert card["training"]["step"] == 7 and card["training"]["precision"] == "fp32"
    assert "command" in card["training"] and card["metrics"]["g"] == rows[-1]["g"]
    # exported weights are the EMA generator, which differs from the raw one in the checkpoint
    ck = load_file(str(tmp_path / "checkpoints" / "step-00000007.safetensors"))
    assert list(card["generators"]) == ["generator"]
    assert all(k.startswith("generator.") for k in state)  # packed: <generator>.<tensor>
    w = "generator.0.weight"
    assert torch.equal(state[w], ck["state/ema/generator/0.weight"])
    assert not torch.equal(state[w], ck["state/nets/generator/0.weight"])
    assert (tmp_path / "losses.png").is_file()


def test_fixed_samples_do_not_change_between_grids(tmp_path):
    """Samples come from fixed noise: with lr=0 every grid is identical."""
    _fit(TinyGAN(), GANConfig(lr=0.0), tmp_path, 4, sample_every=2, checkpoint_every=0)
    a = read_image(tmp_path / "samples" / "step-00000002.png")
    b = read_image(tmp_path / "samples" / "step-00000004.png")
    assert np.array_equal(a, b)


def test_image_family_grid_and_training_reduces_loss(tmp_path):
    res = _fit(
        TinyImage(),
        GANConfig(lr=2e-2),
        tmp_path,
        30,
        log_every=1,
        sample_every=0,
        checkpoint_every=0,
    )
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["g"] < rows[0]["g"]
    grid = read_image(tmp_path / "samples" / "step-00000030.png")
    # 4 rows of input | output | target (8 px columns, 2 px gaps, 2 px border)
    assert grid.shape == (4 * 10 + 2, 3 * 8 + 2 * 2 + 2 * 2, 1)
    assert res.weights.name == "tiny-image.safetensors"


def test_callbacks_get_only_named_arguments(tmp_path):
    seen = []

    class Cb:
        def on_fit_start(self, step, out_dir):
            seen.append(("start", step, out_dir))

        def on_step_end(self, engine, step):
            seen.append(("step", step))
            if step == 3:
                engine.should_stop = True

        def on_checkpoint(self, path):
            seen.append(("ckpt", path.name))

        def on_fit_end(self, **kw):
            seen.append(("end", sorted(kw)))

    engine = Engine(device="cpu", callbacks=[Cb()])
    res = _fit(TinyGAN(), GANConfig(), tmp_path, 10, engine=engine, checkpoint_every=0)
    assert res.interrupted and res.step == 3
    assert seen[0] == ("start", 0, tmp_path)
    assert [s for s in seen if s[0] == "step"] == [("step", 1), ("step", 2), ("step", 3)]
    assert ("ckpt", "step-00000003.json") in seen
    assert seen[-1] == ("end", ["config", "engine", "family", "metrics", "out_dir", "path", "step"])


def test_d_steps_draw_fresh_batches(tmp_path):
    data = tiny_data()
    _fit(
        TinyGAN(), GANConfig(d_steps=3), tmp_path, 2, data=data, checkpoint_every=0, sample_every=0
    )
    assert data.state_dict()["index"] == 2 * 3 * 4 % 16 and data.state_dict()["epoch"] == 1


def test_nan_steps_are_skipped_then_roll_back(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"3 steps in a row.*rolled back to .*step-00000003"):
        _fit(
            TinyGAN(),
            GANConfig(nan_from=5),
            tmp_path,
            20,
            checkpoint_every=3,
            sample_every=0,
            log_every=1,
        )
    state, card = load_weights(tmp_path / "tiny-gan.safetensors")
    assert card["training"]["step"] == 3
    ck = load_file(str(tmp_path / "checkpoints" / "step-00000003.safetensors"))
    for k, v in state.items():
        assert torch.isfinite(v).all()
        assert torch.equal(v, ck[f"state/nets/generator/{k.removeprefix('generator.')}"])
    # steps 6-8 were NaN: the checkpoint due at step 6 was not written
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")][-1] == "step-00000003.json"


def test_single_nan_step_is_skipped_without_touching_weights(tmp_path):
    class OneNan(TinyGAN):
        def training_step(self, step, batch):
            if step.index == 2:
                nets = step.nets
                before = {k: v.clone() for k, v in nets["discriminator"].state_dict().items()}
                step.config = dataclasses.replace(step.config, nan_from=2)
                out = super().training_step(step, batch)
                for k, v in nets["discriminator"].state_dict().items():
                    assert torch.equal(v, before[k])
                assert step.engine.bad_step
                return out
            return super().training_step(step, batch)

    res = _fit(OneNan(), GANConfig(), tmp_path, 5, checkpoint_every=0, sample_every=0, log_every=1)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in rows] == [0, 0, 1, 0, 0]
    assert res.step == 5


def test_precision_auto_is_fp32_on_cpu_and_a_named_half_is_kept(monkeypatch):
    monkeypatch.setattr("ganedit.devices.cpu_half_precisions", lambda: ())
    e = Engine(device="cpu")
    assert e.precision.name == "fp32" and e.strategy.name == "fp32" and not e.channels_last
    e16 = Engine(device="cpu", precision="bf16")
    assert e16.precision.name == "bf16" and e16.strategy.name == "bf16-mixed"
    assert "emulated" in e16.precision.note
    assert e.is_main and e.world_size == 1


def test_compile_option_trains_like_eager(tmp_path):
    """compile wraps the networks (dynamo traced, aot_eager backend: no C++ toolchain) and
    training through the wrappers gives the eager run's weights."""
    pytest.importorskip("torch._dynamo")

    def weights(compile):
        engine = Engine(device="cpu", compile=compile, seed=1, deterministic=True)
        res = _fit(TinyGAN(), GANConfig(), tmp_path / str(compile), 3, engine=engine,
                   checkpoint_every=0, sample_every=0)  # fmt: skip
        assert res.step == 3 and all(np.isfinite(v) for v in res.metrics.values())
        return load_weights(res.weights)[0]

    eager, compiled = weights(False), weights("aot_eager")
    assert eager.keys() == compiled.keys()
    for k in eager:
        assert torch.allclose(eager[k], compiled[k], atol=1e-5), k


def test_plot_run_draws_curves(tmp_path):
    rows = [{"step": s, "d": 1.0 / s, "g": float(s), "img_per_s": 5.0} for s in range(1, 30)]
    rows.append({"step": 30, "d": float("nan"), "g": 2.0})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"torn')
    out = plot_run(tmp_path)
    img = read_image(out)
    assert img.shape == (540, 960, 3)
    blue = (img[..., 0] < 80) & (img[..., 2] > 150)  # series 0 colour (31, 119, 180)
    orange = (img[..., 0] > 200) & (img[..., 1] > 100) & (img[..., 1] < 160) & (img[..., 2] < 60)
    assert blue.sum() > 200 and orange.sum() > 200
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        plot_run(tmp_path / "nope")
    write_image(tmp_path / "x.png", img)


def test_nan_guard_never_waits_for_the_device(monkeypatch):
    """With a fused optimiser the finite check, the skip and the EMA decision stay on the
    device: engine.step reads no tensor on the host (no .item(), no bool())."""
    from ganedit.engine.ema import EMA
    from ganedit.nn import adam

    engine = Engine(device="cpu", precision="fp32")
    nets = engine.setup({"generator": torch.nn.Linear(3, 3)})
    net = nets["generator"]
    opt = adam(net.parameters(), 0.1)
    ema = EMA(net, 0.5)
    before = [p.detach().clone() for p in net.parameters()]
    ema_before = [p.detach().clone() for p in ema.module.parameters()]

    def refuse(*_a, **_k):
        raise AssertionError("the NaN guard waited for the device")

    for loss_scale in (float("nan"), 1.0):
        engine.begin_step()
        opt.zero_grad(set_to_none=True)
        loss = net(torch.ones(2, 3)).sum() * loss_scale
        with monkeypatch.context() as m:
            m.setattr(torch.Tensor, "item", refuse)
            m.setattr(torch.Tensor, "__bool__", refuse)
            engine.backward(loss)
            ok = engine.step(opt)
            ema.update(net, engine.step_ok())
        if loss_scale != 1.0:  # the NaN step changed nothing
            assert not bool(ok) and engine.bad_step
            assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
            assert all(
                torch.equal(a, b) for a, b in zip(ema_before, ema.module.parameters(), strict=True)
            )
    assert bool(ok) and not engine.bad_step  # the finite step applied
    assert not any(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
