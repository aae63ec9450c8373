"""Issue 13, items 2 and 9: every name the file system allows is processed and recorded
losslessly (manifest and JSON events); a failing manifest write never ends the batch; names
up to the file system's limit work (temporary names stay within it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_runs import events, images, manifest, run_tiny, save_tiny_weights

from ganedit.io import write_image

BAD = b"caf\xe9-\xff.png"  # Latin-1 bytes: not UTF-8


def _bytes_dir(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    images(src, n=1)
    try:
        with open(os.path.join(os.fsencode(src), BAD), "wb") as fh:
            fh.write((src / "img_0.png").read_bytes())
    except OSError as exc:  # pragma: no cover - a file system that refuses such names
        pytest.skip(f"this file system refuses non-UTF-8 names: {exc}")
    return src


def test_non_utf8_name_is_processed_and_recorded_losslessly(plugin_path, tmp_path) -> None:
    src, out = _bytes_dir(tmp_path), tmp_path / "out"
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, "--json", src, out)
    assert result.exit_code == 0, result.output
    evs = events(result.stdout)
    assert evs[-1]["event"] == "end" and evs[-1]["done"] == 2
    names = {os.fsencode(Path(e["input"]).name) for e in evs if e["event"] == "file"}
    assert BAD in names  # the JSON event gives back the exact bytes
    recorded = {os.fsencode(Path(r["input"]).name) for r in manifest(out)["files"]}
    assert BAD in recorded
    assert os.path.exists(os.path.join(os.fsencode(out), BAD))
    text = run_tiny(weights, "--skip-existing", src, out)  # the plain summary prints too
    assert text.exit_code == 0, text.output
    assert "skipped 2" in text.stdout


def test_a_manifest_that_cannot_be_written_does_not_end_the_batch(plugin_path, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    images(src, n=3)
    (out / "ganedit-run.json").mkdir(parents=True)  # a folder named like the manifest
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, "--json", src, out)
    assert result.exit_code == 1, result.output
    end = events(result.stdout)[-1]
    assert end["event"] == "end" and end["done"] == 3 and end["manifest_error"]
    assert all((out / f"img_{i}.png").is_file() for i in range(3))
    plain = run_tiny(weights, src, tmp_path / "out")
    assert plain.exit_code == 1 and "manifest could not be written" in plain.stderr


def test_names_up_to_the_file_system_limit(plugin_path, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    long_ascii = "a" * (limit - 4) + ".png"
    long_utf8 = "é" * ((limit - 4) // 2) + ".png"
    img = np.random.default_rng(0).integers(0, 256, (6, 6, 3), np.uint8)
    for name in (long_ascii, long_utf8):
        write_image(src / name, img)  # the library's own atomic write, right at the limit
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, out)
    assert result.exit_code == 0, result.output
    assert (out / long_ascii).is_file() and (out / long_utf8).is_file()
    assert not [n for n in os.listdir(out) if n.endswith(".ganedit-tmp")]
    assert json.loads((out / "ganedit-run.json").read_text())["counts"]["done"] == 2
