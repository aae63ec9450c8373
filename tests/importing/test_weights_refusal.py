"""Every place that reads weights refuses a pickle with the same message, naming the file and
the ``ganedit import`` command; srgan's optional VGG19 file included."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganedit.importing import import_checkpoint
from ganedit.weights import WeightsError, load_weights, pickle_refusal


def test_srgan_vgg_weights_refuses_a_pickle_and_takes_the_import(tmp_path: Path) -> None:
    from ganedit_srgan.family import _vgg_features

    evil = tmp_path / "vgg19.pth"
    torch.save({"features.0.weight": torch.ones(64, 3, 3, 3)}, evil)
    with pytest.raises(WeightsError) as info:
        _vgg_features(str(evil), "cpu")
    assert str(info.value) == pickle_refusal(evil)
    assert "ganedit import vgg19.pth vgg19.safetensors" in str(info.value)
    with pytest.raises(WeightsError):
        load_weights(evil)
    out = import_checkpoint(evil, tmp_path / "vgg19.safetensors", to="tensors")
    state, card = load_weights(out)
    assert card["family"] is None and card["layout"] == "1 tensors"
    assert torch.equal(state["features.0.weight"], torch.ones(64, 3, 3, 3))
