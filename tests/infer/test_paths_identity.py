"""Issue 13, item 1: an output folder that reaches an input by another path (bind mount,
symlink, hard link) never overwrites an input; folders and files are compared by identity."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_runs import images, run_tiny, save_tiny_weights

from ganedit.io import check_output_location, walk_inputs


def _digest(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def bind_mount(tmp_path: Path):
    """``tmp_path/bind``: a bind mount of ``tmp_path/in`` (root only; skipped otherwise)."""
    src, bind = tmp_path / "in", tmp_path / "bind"
    src.mkdir()
    bind.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("bind mounts need root and mount(8)")
    done = subprocess.run(["mount", "--bind", str(src), str(bind)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mount --bind not permitted here: {done.stderr.decode().strip()}")
    try:
        yield src, bind
    finally:
        subprocess.run(["umount", str(bind)], capture_output=True)


def test_bind_mount_of_the_input_is_refused_and_inputs_untouched(
    plugin_path, bind_mount, tmp_path
) -> None:
    src, bind = bind_mount
    images(src, n=2)
    before = _digest(src)
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, bind)
    assert result.exit_code == 2, result.output
    assert "is the input folder" in result.output and "another path" in result.output
    assert _digest(src) == before  # no input replaced
    assert not (src / "ganedit-run.json").exists()
    # a folder inside the bind mount is inside the input folder too
    assert run_tiny(weights, src, bind / "sub").exit_code == 2
    assert not (src / "sub").exists()


def test_symlinked_output_folder_is_the_input_folder(tmp_path) -> None:
    src = tmp_path / "in"
    images(src, n=1)
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    with pytest.raises(ValueError, match="is the input folder"):
        check_output_location([src], tmp_path / "link")
    with pytest.raises(ValueError, match="inside the input folder"):
        check_output_location([src], tmp_path / "link" / "new" / "deeper")


def test_an_output_that_is_a_hard_link_to_an_input_is_not_replaced(plugin_path, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (inp,) = images(src, n=1)
    out.mkdir()
    os.link(inp, out / inp.name)  # the planned output path *is* the input file
    before = inp.read_bytes()
    weights = save_tiny_weights(tmp_path / "w" / "tiny.safetensors")
    result = run_tiny(weights, src, out)
    assert result.exit_code == 1, result.output
    assert "is an input (or mask) file" in result.stderr
    assert inp.read_bytes() == before


def test_walk_lists_a_file_reached_twice_by_identity_once(tmp_path) -> None:
    src = tmp_path / "in"
    (inp,) = images(src, n=1)
    other = tmp_path / "other"
    other.mkdir()
    os.link(inp, other / "same.png")
    found = walk_inputs([src, other / "same.png"])
    assert [i.path for i in found.items] == [inp]
