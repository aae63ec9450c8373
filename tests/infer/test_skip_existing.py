"""Issue 13, item 14: ``--skip-existing`` redoes an output whose input or the run's parameters
changed since it was written (the manifest records each input's size and mtime and the run's
fingerprint), and says how many it redid."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from cli_runs import events, images, manifest, run_tiny, save_tiny_weights
from tiny_kit import TinyKeep, UpConfig

import ganedit
from ganedit.config import option
from ganedit.io import write_image


def test_changed_inputs_and_parameters_are_redone(plugin_path, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    paths = images(src, n=3)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    assert run_tiny(weights, src, out).exit_code == 0
    recs = manifest(out)["files"]
    assert all(r["input_size"] > 0 and r["input_mtime_ns"] > 0 for r in recs)
    assert manifest(out)["fingerprint"]

    again = run_tiny(weights, "--skip-existing", src, out)
    assert again.exit_code == 0 and "skipped 3" in again.stdout and "redone" not in again.stdout

    write_image(paths[1], np.zeros((8, 10, 3), np.uint8))  # a new input under the same name
    st = os.stat(paths[1])
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    dry = run_tiny(weights, "--skip-existing", "--dry-run", "--json", src, out)
    plans = {e["input"].rsplit("/", 1)[-1]: e["action"] for e in events(dry.stdout)
             if e["event"] == "plan"}  # fmt: skip
    assert plans == {"img_0.png": "skip", "img_1.png": "process", "img_2.png": "skip"}
    changed = run_tiny(weights, "--skip-existing", "--json", src, out)
    assert changed.exit_code == 0, changed.output
    end = events(changed.stdout)[-1]
    assert (end["done"], end["skipped"], end["redone"]) == (1, 2, 1)
    assert any("1 existing output(s) redone" in w for w in end["warnings"])

    other = run_tiny(weights, "--skip-existing", "--outscale", "1", src, out)
    assert other.exit_code == 0, other.output
    assert "done 3, skipped 0, failed 0 (3 redone" in other.stdout


def test_an_output_older_than_its_input_is_redone_without_a_manifest(plugin_path, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    (path,) = images(src, n=1)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    assert run_tiny(weights, src, out).exit_code == 0
    (out / "ganedit-run.json").unlink()
    st = os.stat(out / path.name)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    result = run_tiny(weights, "--skip-existing", src, out)
    assert "done 1, skipped 0" in result.stdout and "1 redone" in result.stdout


@dataclass
class _EvalConfig(UpConfig):
    eval_noise: float = option(0.1, "Noise ganedit eval adds.", eval_only=True)


class _TinyKeepWithEval(TinyKeep):
    """TinyKeep with a setting of evaluate (an eval_only field) beside its normal ones."""

    name = "tiny-keep-eval"
    Config = _EvalConfig


def test_an_eval_only_field_does_not_redo_outputs(tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=2)

    def run(**config: object) -> ganedit.RunReport:
        return ganedit.run_folder(
            _TinyKeepWithEval, [src], out, weights=False, device="cpu", precision="fp32",
            skip_existing=True, progress=False, **config,
        )  # fmt: skip

    first = run()
    assert len(first.done) == 2 and manifest(out)["fingerprint"]
    same = run(eval_noise=0.5)  # a setting of evaluate only: the outputs are still current
    assert (len(same.done), len(same.skipped), len(same.redone)) == (0, 2, 0)
    other = run(eval_noise=0.5, delay=0.001)  # a normal Config field: every output is redone
    assert (len(other.done), len(other.skipped), len(other.redone)) == (2, 0, 2)
