"""Issue 13, item 11: user mistakes give a one-line error naming the file or argument and the
reason, never a bare traceback, and no pickle is ever executed."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from cli_runs import images, run_cli, run_tiny

from ganedit.infer import load
from ganedit.testing import TinyUpscale

MARKER = "pickle-ran"


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, MARKER))


def _pickle(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for proto in (0, 2, 5):  # protocol 0 starts with text, not the 0x80 opcode
        path.with_suffix(f".p{proto}").write_bytes(pickle.dumps(_Evil(marker), protocol=proto))
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    return path


@pytest.mark.parametrize("proto", ["p0", "p2", "p5"])
def test_a_pickle_as_weights_is_one_line_and_never_run(plugin_path, tmp_path, proto) -> None:
    marker = tmp_path / "ran.txt"
    base = _pickle(tmp_path / "w" / "model.safetensors", marker)
    weights = base.with_suffix(f".{proto}")
    images(tmp_path / "in", n=1)
    result = run_tiny(weights, tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and str(weights) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()
    evaluated = run_cli("eval", "tiny-sr", "--weights", weights, "--data", tmp_path / "in",
                        "--device", "cpu")  # fmt: skip
    assert evaluated.exit_code in (1, 2) and "Traceback" not in evaluated.output
    assert not marker.exists()


def test_resume_over_another_familys_run_is_refused(plugin_path, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"family": "srgan", "config": {}}')
    images(tmp_path / "data", n=2, size=(16, 16))
    result = run_cli("train", "tiny-sr", "--data", tmp_path / "data", "--out", run,
                     "--steps", "1", "--resume", "--device", "cpu")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "'srgan' training run" in result.output and "Traceback" not in result.output


def test_a_pickle_given_to_resume_is_refused(plugin_path, tmp_path) -> None:
    from ganedit.engine.checkpoint import CheckpointError, load_state

    marker = tmp_path / "ran.txt"
    path = _pickle(tmp_path / "run" / "checkpoints" / "step-00000001.json", marker)
    with pytest.raises(CheckpointError, match="pickle"):
        load_state(path)
    assert not marker.exists()


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0, 3), (0, 0)])
def test_an_empty_image_array_names_the_argument(shape) -> None:
    ed = load(TinyUpscale(), weights=False)
    with pytest.raises(ValueError, match="^image: .*empty"):
        ed(np.zeros(shape, np.uint8))


def test_wrong_argument_types_name_the_argument(tmp_path) -> None:
    from ganedit.infer import run_folder

    with pytest.raises(TypeError, match="^output:"):
        run_folder(TinyUpscale(), tmp_path, None, weights=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^inputs:"):
        run_folder(TinyUpscale(), [tmp_path, 3], tmp_path / "o", weights=False)
    with pytest.raises(TypeError, match="^image: got a path"):
        load(TinyUpscale(), weights=False)(str(tmp_path / "cat.png"))


def test_resume_from_another_familys_checkpoint_names_it(plugin_path, tmp_path) -> None:
    import ganedit
    from ganedit.engine.checkpoint import CheckpointError, save_state

    images(tmp_path / "data", n=2, size=(16, 16))
    ckpt = save_state(tmp_path / "other" / "step-00000001", {"step": 1}, step=1,
                      meta={"family": "srgan"})  # fmt: skip
    with pytest.raises(CheckpointError, match="a checkpoint of 'srgan', not 'tiny-sr'"):
        ganedit.train("tiny-sr", data=[tmp_path / "data"], out=tmp_path / "run", steps=1,
                      resume=ckpt, device="cpu", progress=False)  # fmt: skip
