"""ganedit.engine.export: the EMA rule, the decay recorded in checkpoints and cards, and the
warning for an EMA that is still mostly its initial weights (Python API and ``ganedit export``)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from click.testing import CliRunner

from ganedit.cli import cli
from ganedit.config import option
from ganedit.engine import EMAWarning, Engine, export_weights, fit
from ganedit.engine.export import ema_warning, find_checkpoint
from ganedit.testing import TinyUpscale


def test_ema_warning_rule() -> None:
    text = ema_warning(200, 0.999)  # 0.999**200 = 82% of the EMA is still the initial weights
    assert text is not None
    assert "decay 0.999" in text and "only 200 steps" in text and "82%" in text
    assert "2302 steps" in text and "--no-ema" in text and "--ema-decay (at most 0.988" in text
    assert ema_warning(2400, 0.999) is None  # 9% left
    assert ema_warning(22, 0.9) is None and ema_warning(21, 0.9) is not None
    assert ema_warning(5, 0.0) is None and ema_warning(5, None) is None


@dataclass
class _NoEMAFieldConfig:
    """TinyUpscale's fields without ``ema_decay``: the EMA comes from the engine's option."""

    scale: Literal[1, 2, 4] = option(2, "Upscaling factor.")
    width: int = option(8, "Hidden channels.")
    lr: float = option(1e-3, "Adam learning rate.", train_only=True)
    batch_size: int = option(2, "Crops per step.", train_only=True)
    crop: int = option(16, "HR crop side.", train_only=True)


class _NoEMAField(TinyUpscale):
    name = "tiny-upscale-no-ema-field"
    Config = _NoEMAFieldConfig


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three steps with the engine's EMA at decay 0.9 (73% of it still initial weights)."""
    root = tmp_path_factory.mktemp("ema")
    config = _NoEMAFieldConfig()
    data = _NoEMAField().example_data(root / "data", config)
    engine = Engine(device="cpu", precision="fp32", seed=0)
    fit(_NoEMAField(), config, data, root / "run", engine, steps=3, progress=False,
        sample_every=0, checkpoint_every=3, ema_decay=0.9)  # fmt: skip
    return root / "run"


def test_the_checkpoint_and_the_card_record_the_engines_decay(short_run: Path) -> None:
    meta = json.loads(find_checkpoint(short_run).read_text(encoding="utf-8"))["meta"]
    assert meta["ema"] is True and meta["ema_decay"] == 0.9
    assert "ema_decay" not in meta["config"]
    with pytest.warns(EMAWarning):
        path = export_weights(short_run, short_run.parent / "api.safetensors")
    training = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["training"]
    assert training["ema_decay"] == 0.9 and training["ema"] == {"generator": True}


def test_the_python_api_warns_unless_the_trained_generators_are_taken(short_run: Path) -> None:
    with pytest.warns(EMAWarning, match=r"EMA \(decay 0\.9\) has seen only 3 steps, so 73%"):
        export_weights(short_run, short_run.parent / "ema.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EMAWarning)
        export_weights(short_run, short_run.parent / "raw.safetensors", ema=False)


def test_the_cli_prints_the_warning_once(short_run: Path) -> None:
    out = short_run.parent / "cli.safetensors"
    result = CliRunner().invoke(cli, ["export", str(short_run), str(out)])
    assert result.exit_code == 0, result.output
    assert "weights:" in result.stdout and "warning" not in result.stdout
    assert result.stderr.count("warning: the EMA (decay 0.9) has seen only 3 steps") == 1
    assert result.stderr.count("\n") == 1  # that one line, nothing from Python's warnings
