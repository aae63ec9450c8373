"""The conformance kit on the tiny family of every shape, and on broken variants of them: each
mistake is caught by its check and reported as ``<family>: <check>: <why>``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from ganedit.testing import (
    CHECKS,
    TINY_FAMILIES,
    ConformanceError,
    TinyUpscale,
    check_family,
    conformance_tests,
)
from ganedit.testing.families import TinyUpscaleConfig


@pytest.mark.parametrize("name", sorted(TINY_FAMILIES))
def test_every_tiny_family_passes_every_check(name: str) -> None:
    cls, config = TINY_FAMILIES[name]
    check_family(cls, config)


def _bad(**overrides):
    return type("Bad", (TinyUpscale,), {"name": "bad", **overrides})


def test_out_of_range_output_is_caught() -> None:
    bad = _bad(predict=lambda self, net, inputs, config: net(inputs["image"]) * 3 - 1)
    with pytest.raises(
        ConformanceError, match=r"bad: predict: generator: output range .* outside \[0, 1\]"
    ):
        check_family(bad, TinyUpscaleConfig(), only=["predict"])


def test_batch_interaction_is_caught() -> None:
    def predict(self, net, inputs, config):
        y = TinyUpscale.predict(self, net, inputs, config)
        return (y + y.mean(dim=0, keepdim=True)) / 2

    with pytest.raises(ConformanceError, match="bad: batch_equals_single: item 0 differs"):
        check_family(_bad(predict=predict), TinyUpscaleConfig(), only=["batch_equals_single"])


def test_an_image_wide_operation_in_a_supported_family_is_caught() -> None:
    def predict(self, net, inputs, config):  # blends in the image mean: image-wide
        y = TinyUpscale.predict(self, net, inputs, config)
        return 0.5 * y + 0.5 * y.mean(dim=(1, 2, 3), keepdim=True)

    with pytest.raises(ConformanceError, match="bad: tiled: max abs difference .* image-wide"):
        check_family(_bad(predict=predict), TinyUpscaleConfig(), only=["tiled"])


def test_a_receptive_field_larger_than_declared_is_caught() -> None:
    """radius 2 declared, but a 9x9 box blur makes it 6: tiles at the declared overlap differ."""

    def predict(self, net, inputs, config):
        y = TinyUpscale.predict(self, net, inputs, config)
        return torch.nn.functional.avg_pool2d(y, 9, 1, 4, count_include_pad=False)

    with pytest.raises(ConformanceError, match="bad: tiled"):
        check_family(_bad(predict=predict), TinyUpscaleConfig(), only=["tiled"])


def test_a_step_that_does_not_train_is_caught() -> None:
    bad = _bad(training_step=lambda self, step, batch: {"l1": torch.tensor(1.0)})
    with pytest.raises(ConformanceError, match=r"bad: training: networks \['generator'\] did"):
        check_family(bad, TinyUpscaleConfig(), only=["training"])


def test_inexact_resume_is_caught() -> None:
    """A family that keeps state outside training_state resumes differently."""
    seen = {"n": 0}

    def training_step(self, step, batch):
        seen["n"] += 1  # a hidden counter the checkpoint cannot see
        out = TinyUpscale.training_step(self, step, batch)
        if seen["n"] % 3 == 0:
            with torch.no_grad():
                for p in step.nets["generator"].parameters():
                    p.add_(0.01)
        return out

    with pytest.raises(ConformanceError, match="bad: resume: resumed run differs"):
        check_family(_bad(training_step=training_step), TinyUpscaleConfig(), only=["resume"])


def test_every_failure_is_reported_not_only_the_first() -> None:
    @dataclass
    class NoHelp:
        scale: int = 2
        width: int = 8

    bad = _bad(Config=NoHelp, predict=lambda self, net, inputs, config: net(inputs["image"]) - 5)
    with pytest.raises(ConformanceError) as info:
        check_family(bad, NoHelp(), only=["spec", "predict"])
    assert len(info.value.failures) == 2
    assert (
        info.value.failures[0]
        == "bad: spec: Config fields without metadata help text: scale, width"
    )
    assert info.value.failures[1].startswith("bad: predict: generator: output range")


@dataclass
class _Marked:
    """A Config with a field of every command marker (``eval_sigma`` is ``ganedit eval``'s)."""

    width: int = field(default=8, metadata={"help": "Hidden channels."})
    lr: float = field(default=1e-3, metadata={"help": "Rate.", "train_only": True})
    eval_sigma: float = field(default=0.1, metadata={"help": "Noise.", "eval_only": True})


def test_eval_only_fields_are_options_of_ganedit_eval_alone() -> None:
    """``train_only`` fields are options of ``ganedit train`` only, ``eval_only`` ones of
    ``ganedit eval`` only (never of ``run``/``sample``, so not in the run's --help)."""
    from ganedit.cli.common import _config_options

    marked = _bad(Config=_Marked)
    shown = {
        command: [o.name for o in _config_options(marked, command=command, reserved=set())]
        for command in ("run", "sample", "train", "eval")
    }
    assert shown == {
        "run": ["width"],
        "sample": ["width"],
        "train": ["width", "lr"],
        "eval": ["width", "eval_sigma"],
    }


def test_a_field_marked_for_two_commands_is_caught() -> None:
    @dataclass
    class Both:
        scale: int = field(default=2, metadata={"help": "x", "train_only": True, "eval_only": True})
        width: int = field(default=8, metadata={"help": "Hidden channels."})

    with pytest.raises(
        ConformanceError, match="bad: spec: Config fields both train_only and eval_only: scale"
    ):
        check_family(_bad(Config=Both), Both(), only=["spec"])


def test_conformance_tests_helper_parametrizes_every_check() -> None:
    fn = conformance_tests(TinyUpscale, TinyUpscaleConfig(), skip=["export"])
    marks = [m for m in fn.pytestmark if m.name == "parametrize"]
    assert marks[0].args[1] == [c for c in CHECKS if c != "export"]
    fn("predict")  # runs one check
    with pytest.raises(ValueError, match="unknown check"):
        check_family(TinyUpscale, TinyUpscaleConfig(), only=["nope"])
