"""Issue 24: names the runner owns (manifest, lock, temp files) never collide with outputs
mirrored from the inputs, and the other way round."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.infer.run.lock import LOCK_NAME
from ganedit.io import MANIFEST_NAME, InputItem, plan_output
from ganedit.io.atomic import TEMP_SUFFIX, temp_prefix
from ganedit.io.walk import runner_owned


def test_every_name_the_runner_writes_is_reserved(tmp_path) -> None:
    names = [MANIFEST_NAME, "ganedit-run.rank3.json", LOCK_NAME, ".ganedit-run.rank1.lock",
             ".ganedit-lock.k2j3h4", temp_prefix(tmp_path / MANIFEST_NAME) + "abcdefgh"
             + TEMP_SUFFIX, "GANEDIT-RUN.JSON"]  # fmt: skip
    assert all(runner_owned(n) for n in names)
    assert not any(runner_owned(n) for n in ("ganedit-run.png", "photo.json", "a.png"))


def test_a_sub_folder_named_like_the_manifest_is_mirrored_beside_it(plugin_path, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=1)
    images(src / MANIFEST_NAME, n=2)
    images(src / "Ganedit-Run.json", n=1)  # one a case-insensitive file system would mix up
    images(src / "ganedit-run.rank0.json", n=1)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, out)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / MANIFEST_NAME).read_text())  # the manifest is a file, and whole
    assert doc["counts"] == {"done": 5, "skipped": 0, "failed": 0, "total": 5}
    outputs = {Path(r["output"]).relative_to(out).as_posix() for r in doc["files"]}
    assert outputs == {"img_0.png", "ganedit-run-2.json/img_0.png", "ganedit-run-2.json/img_1.png",
                       "Ganedit-Run-2.json/img_0.png", "ganedit-run.rank0-2.json/img_0.png"}  # fmt: skip
    assert all((out / o).is_file() for o in outputs)
    again = run_tiny(weights, "--skip-existing", src, out)  # the renamed outputs are found again
    assert again.exit_code == 0 and "skipped 5" in again.stdout, again.output


def test_plan_output_renames_only_the_top_level_folder(tmp_path) -> None:
    item = InputItem(tmp_path / "x.png", Path("a") / MANIFEST_NAME / "x.png")
    assert plan_output(item, tmp_path, ".png") == tmp_path / "a" / MANIFEST_NAME / "x.png"
    item = InputItem(tmp_path / "x.tif", Path(MANIFEST_NAME) / "x.tif")
    assert plan_output(item, tmp_path, "png") == tmp_path / "ganedit-run-2.json" / "x.png"
