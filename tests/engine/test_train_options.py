"""TrainOptions, the one declaration of a training run's options: ``ganedit train``'s options
come from its fields (help and bounds from the metadata), and :func:`ganedit.train` and
:func:`ganedit.engine.fit` take its fields as keywords."""

from __future__ import annotations

import dataclasses
import inspect

import click
import pytest
from tiny_kit import GANConfig, TinyGAN, tiny_data

from ganedit.cli.common import device_options
from ganedit.cli.train import TRAIN_INPUTS, _make_train
from ganedit.engine import Engine, TrainOptions, fit
from ganedit.family import TrainingEngine
from ganedit.testing import TinyUpscale


def _options() -> dict[str, click.Parameter]:
    command = _make_train(TinyUpscale)
    return {p.name: p for p in command.params if p.name is not None}


def test_train_options_come_from_the_fields() -> None:
    params = _options()
    shared = {p.name for p in device_options()}
    for f in TrainOptions.fields():
        cli = f.metadata.get("cli", True)
        if cli is False:
            assert f.name not in params, f.name
            continue
        opt = params[f.name]
        assert opt.opts == ["--" + f.name.replace("_", "-")]
        if f.name not in shared:
            assert opt.help == f.metadata["help"], f.name
    wanted = {f.name for f in TrainOptions.fields() if f.metadata.get("cli", True) is not False}
    config = {f.name for f in dataclasses.fields(TinyUpscale.Config)}
    common = wanted | set(TRAIN_INPUTS)  # a Config field of the same name is no extra option
    assert set(params) - (config - common) == common


def test_bounds_and_defaults_reach_the_command_line() -> None:
    params = _options()
    steps, ema, seed = params["steps"], params["ema_decay"], params["seed"]
    assert isinstance(steps.type, click.IntRange) and steps.type.min == 1
    assert steps.default == TrainOptions().steps
    assert isinstance(ema.type, click.FloatRange) and ema.type.max_open and ema.type.max == 1.0
    assert seed.show_default is True and params["resume"].is_flag
    with pytest.raises(click.BadParameter):
        steps.type.convert(0, steps, None)


def test_parse_takes_fields_aliases_and_refuses_the_rest() -> None:
    opts = TrainOptions.parse({"steps": 5, "ema": 0.9, "lr": 1e-3})
    assert (opts.steps, opts.ema_decay, opts.lr, opts.keep_last) == (5, 0.9, 1e-3, 3)
    assert TrainOptions.parse({"log_every": 2}, opts).steps == 5
    with pytest.raises(TypeError, match="train\\(\\) got an unexpected keyword argument 'lrr'"):
        TrainOptions.parse({"steps": 5, "lrr": 1})
    with pytest.raises(TypeError, match="missing required keyword-only argument: 'steps'"):
        TrainOptions.parse({})
    with pytest.raises(TypeError, match="fit\\(\\) got an unexpected keyword argument 'lr'"):
        TrainOptions.parse({"steps": 5, "lr": 1.0}, scope="fit", caller="fit")


def test_fit_reads_its_options_from_the_dataclass(tmp_path) -> None:
    """``options=TrainOptions(...)`` and the same keywords run the same loop; a train-only
    option is refused by fit as an unknown keyword."""
    opts = TrainOptions(steps=2, checkpoint_every=1, keep_last=1, sample_every=0, log_every=1,
                        progress=False)  # fmt: skip
    res = fit(TinyGAN(), GANConfig(), tiny_data(8), tmp_path / "a", Engine(device="cpu"),
              options=opts)  # fmt: skip
    assert res.step == 2 and len(list((tmp_path / "a" / "checkpoints").glob("*.json"))) == 1
    with pytest.raises(TypeError, match="unexpected keyword argument 'batch_size'"):
        fit(TinyGAN(), GANConfig(), tiny_data(8), tmp_path / "b", steps=1, batch_size=2)


def test_the_engine_has_every_verb_of_the_protocol() -> None:
    verbs = [n for n in vars(TrainingEngine) if not n.startswith("_")]
    assert {"autocast", "backward", "step", "next_batch", "batches"} <= set(verbs)
    for name in verbs:
        want = inspect.signature(getattr(TrainingEngine, name)).parameters
        got = inspect.signature(getattr(Engine, name)).parameters
        assert list(got) == list(want), name
    assert {"device", "should_stop"} <= set(TrainingEngine.__annotations__)
    engine = Engine(device="cpu")
    assert all(hasattr(engine, name) for name in TrainingEngine.__annotations__)
