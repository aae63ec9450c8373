"""ganedit.config.option: one Config field (default + help + the command it belongs to)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from ganedit.config import check_config_class, config_to_dict, option, update_config


@dataclass
class _Config:
    width: int = option(64, "Channels.")
    lr: float = option(2e-4, "Adam rate.", train_only=True)
    eval_size: int = option(512, "Evaluation size.", eval_only=True)
    sizes: list[int] = option([64, 128], "Sizes.", min=1)
    betas: tuple[float, float] = option((0.5, 0.999), "Betas.")


def test_option_is_a_field_with_its_help_and_command() -> None:
    meta = {f.name: dict(f.metadata) for f in dataclasses.fields(_Config)}
    assert meta == {
        "width": {"help": "Channels."},
        "lr": {"help": "Adam rate.", "train_only": True},
        "eval_size": {"help": "Evaluation size.", "eval_only": True},
        "sizes": {"help": "Sizes.", "min": 1},
        "betas": {"help": "Betas."},
    }
    assert config_to_dict(_Config()) == {
        "width": 64,
        "lr": 2e-4,
        "eval_size": 512,
        "sizes": [64, 128],
        "betas": [0.5, 0.999],
    }
    assert check_config_class(_Config) == []
    assert update_config(_Config(), {"eval-size": "256"}).eval_size == 256


def test_a_list_default_is_copied_per_config() -> None:
    one, two = _Config(), _Config()
    one.sizes.append(256)
    assert two.sizes == [64, 128]
    assert _Config().sizes == [64, 128]
    (sizes,) = [f for f in dataclasses.fields(_Config) if f.name == "sizes"]
    assert sizes.default is dataclasses.MISSING


def test_train_only_and_eval_only_together_are_refused() -> None:
    with pytest.raises(ValueError, match="train_only and eval_only exclude each other"):
        option(1, "Both.", train_only=True, eval_only=True)
