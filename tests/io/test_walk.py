"""Walking inputs, planning outputs, refusing outputs inside inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganedit.io import (
    IMAGE_EXTENSIONS,
    InputItem,
    check_output_location,
    plan_output,
    walk_inputs,
)


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def _symlink(target: Path, link: Path) -> None:
    """Make ``link`` point at ``target``; skip the test where symlinks are not supported."""
    try:
        os.symlink(target, link)
    except OSError:
        pytest.skip("symlinks not supported here")


def _rels(result) -> list[str]:
    return [item.rel.as_posix() for item in result.items]


def test_recursive_sorted_with_rel_paths(tmp_path):
    root = tmp_path / "in"
    _touch(root, "b.png", "a.JPG", "sub/z.webp", "sub/deeper/y.tiff", "c.bmp", "sub2/x.tif")
    result = walk_inputs([root])
    assert _rels(result) == [
        "a.JPG",
        "b.png",
        "c.bmp",
        "sub/deeper/y.tiff",
        "sub/z.webp",
        "sub2/x.tif",
    ]
    assert all(item.path == root / item.rel for item in result.items)
    assert result.missing == [] and result.non_images == [] and result.hidden == 0


def test_order_is_stable_across_runs(tmp_path):
    root = tmp_path / "in"
    _touch(root, *[f"d{i % 3}/f{i}.png" for i in range(12)])
    assert _rels(walk_inputs(root)) == _rels(walk_inputs([str(root)]))


def test_non_images_and_hidden_are_skipped_and_counted(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png", "notes.txt", "raw.cr2", ".hidden.png", ".git/objects/x.png", "s/.b.jpg")
    result = walk_inputs([root])
    assert _rels(result) == ["a.png"]
    assert sorted(p.name for p in result.non_images) == ["notes.txt", "raw.cr2"]
    assert result.hidden == 3  # .hidden.png, .git (not entered), s/.b.jpg


def test_direct_files_and_missing_inputs(tmp_path):
    _touch(tmp_path, "one/a.png", "two/.b.jpg", "readme.md")
    result = walk_inputs(
        [
            tmp_path / "one" / "a.png",
            tmp_path / "two" / ".b.jpg",
            tmp_path / "gone.png",
            tmp_path / "readme.md",
        ]
    )
    # a hidden file named directly is used; so is one with another suffix (it then fails
    # with its reason when read, instead of being skipped silently)
    assert _rels(result) == ["a.png", ".b.jpg", "readme.md"]
    assert result.missing == [tmp_path / "gone.png"]
    assert result.non_images == []


def test_same_file_twice_is_listed_once(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png", "b.png")
    result = walk_inputs([root, root / "a.png", root])
    assert _rels(result) == ["a.png", "b.png"]


def test_symlink_loop_is_safe(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png", "sub/b.png")
    _symlink(root, root / "sub" / "loop")
    _symlink(root / "sub", root / "again")
    result = walk_inputs([root])
    real = sorted(os.path.realpath(i.path) for i in result.items)
    assert len(real) == len(set(real)) == 2


def test_symlinked_folder_is_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    _touch(elsewhere, "c.png")
    root = tmp_path / "in"
    _touch(root, "a.png")
    _symlink(elsewhere, root / "linked")
    assert _rels(walk_inputs(root)) == ["a.png", "linked/c.png"]


def test_broken_symlink_is_not_an_item(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png")
    _symlink(tmp_path / "nowhere.png", root / "broken.png")
    result = walk_inputs(root)
    assert _rels(result) == ["a.png"]
    assert [p.name for p in result.non_images] == ["broken.png"]


def test_exclude_prunes_output_folder(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png", "out/a.png", "out/deep/b.png")
    result = walk_inputs([root], exclude=[root / "out"])
    assert _rels(result) == ["a.png"]


def test_collisions_between_inputs_are_prefixed(tmp_path):
    _touch(tmp_path, "cats/1.png", "cats/only-cats.png", "dogs/1.png", "birds/2.png")
    result = walk_inputs([tmp_path / "cats", tmp_path / "dogs", tmp_path / "birds"])
    assert _rels(result) == ["cats/1.png", "cats/only-cats.png", "dogs/1.png", "2.png"]
    assert result.renamed == 3
    assert len({i.rel for i in result.items}) == len(result.items)


def test_collisions_between_same_named_folders_and_files(tmp_path):
    _touch(tmp_path, "a/photos/x.png", "b/photos/x.png", "c/x.png")
    result = walk_inputs(
        [tmp_path / "a" / "photos", tmp_path / "b" / "photos", tmp_path / "c" / "x.png"]
    )
    assert _rels(result) == ["photos/x.png", "photos-2/x.png", "c/x.png"]


def test_leftover_clash_gets_numbered(tmp_path):
    # "cats" prefixed output "cats/1.png" would equal an item of a third, unprefixed input
    _touch(tmp_path, "cats/1.png", "dogs/1.png", "zoo/cats/1.png")
    result = walk_inputs([tmp_path / "cats", tmp_path / "dogs", tmp_path / "zoo"])
    rels = _rels(result)
    assert len(set(rels)) == 3
    assert rels == ["cats/1.png", "dogs/1.png", "cats/1-2.png"]


def test_image_extensions():
    assert {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"} <= IMAGE_EXTENSIONS


# --- output planning -------------------------------------------------------------------------------


def test_plan_output(tmp_path):
    item = InputItem(tmp_path / "in" / "sub" / "a.b.JPG", Path("sub/a.b.JPG"))
    assert plan_output(item, tmp_path / "out", ".png") == tmp_path / "out" / "sub" / "a.b.png"
    assert plan_output(item, tmp_path / "out", "webp") == tmp_path / "out" / "sub" / "a.b.webp"


def test_output_inside_input_is_refused(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png")
    with pytest.raises(ValueError, match="inside the input folder"):
        check_output_location([root], root / "out")
    check_output_location([root], root / "out", excluded=True)  # the caller prunes it
    with pytest.raises(ValueError, match="is the input folder"):
        check_output_location([root], root, excluded=True)
    with pytest.raises(ValueError, match="is the input folder"):
        check_output_location([root], tmp_path / "in" / "." / "sub" / "..")
    check_output_location([root], tmp_path / "out")
    check_output_location([root], tmp_path / "input-2")  # a name prefix is not "inside"


def test_output_over_input_file_is_refused(tmp_path):
    _touch(tmp_path, "in/a.png")
    with pytest.raises(ValueError, match="would overwrite"):
        check_output_location([tmp_path / "in" / "a.png"], tmp_path / "in")
    check_output_location([tmp_path / "in" / "a.png"], tmp_path / "out")


def test_output_that_is_a_file_is_refused(tmp_path):
    _touch(tmp_path, "in/a.png", "out")
    with pytest.raises(ValueError, match="existing file"):
        check_output_location([tmp_path / "in"], tmp_path / "out")


def test_output_inside_input_via_symlink_is_refused(tmp_path):
    root = tmp_path / "in"
    _touch(root, "a.png")
    _symlink(root, tmp_path / "alias")
    with pytest.raises(ValueError, match="inside"):
        check_output_location([tmp_path / "alias"], root / "out")
