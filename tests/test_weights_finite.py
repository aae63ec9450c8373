"""Issue 13, item 3: NaN/Inf weights are refused at load, naming the file and the tensor; a
model output that is not finite is that file's failure, never a black image marked done."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.infer import load, run_folder
from ganedit.infer.editor import NonFiniteOutputError
from ganedit.testing import TinyUpscale
from ganedit.weights import WeightsError, load_weights, save_weights


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path: Path, bad: float) -> None:
    net = TinyUpscale().build(TinyUpscale.Config())["generator"]
    state = {f"generator.{k}": v.clone() for k, v in net.state_dict().items()}
    state["generator.2.weight"][0, 0, 0, 0] = bad
    path = save_weights(tmp_path / "bad.safetensors", state, {"family": "tiny-upscale"})
    with pytest.raises(WeightsError, match=r"bad\.safetensors.*'generator\.2\.weight'"):
        load_weights(path)
    with pytest.raises(WeightsError, match="non-finite"):
        load(TinyUpscale(), weights=path)


def test_non_finite_weights_on_the_command_line_exit_1_in_one_line(plugin_path, tmp_path) -> None:
    good = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    state, card = load_weights(good)
    name = sorted(state)[0]
    state[name] = torch.full_like(state[name], math.nan)
    bad = save_weights(tmp_path / "w" / "nan.safetensors", state, card)
    images(tmp_path / "in", n=1)
    result = run_tiny(bad, tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 1
    assert name in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out" / "img_0.png").exists()


class _NaNUpscale(TinyUpscale):
    name = "tiny-nan"

    def predict(self, net, inputs, config):
        y = super().predict(net, inputs, config)
        return y * torch.nan


def test_a_non_finite_model_output_is_a_failure_not_a_black_image(tmp_path: Path) -> None:
    images(tmp_path / "in", n=2)
    report = run_folder(_NaNUpscale(), tmp_path / "in", tmp_path / "out", weights=False,
                        progress=False)  # fmt: skip
    assert report.exit_code == 1 and not report.done
    assert all("not finite" in why for _, why in report.failed)
    assert not list((tmp_path / "out").glob("*.png"))
    ed = load(_NaNUpscale(), weights=False)
    with pytest.raises(NonFiniteOutputError):
        ed(np.zeros((4, 4, 3), np.uint8))
