"""ganedit.data.files: finding images and matching partners by relative path and name."""

from __future__ import annotations

import numpy as np
import pytest

from ganedit.data import DatasetError
from ganedit.data.files import find_images, match_partners
from ganedit.io import write_image


def _put(path, v=0):
    write_image(path, np.full((4, 4, 1), v, np.uint8))


def test_find_images_and_errors(tmp_path):
    _put(tmp_path / "a" / "x.png")
    _put(tmp_path / "a" / "sub" / "y.jpg")
    (tmp_path / "a" / "notes.txt").write_text("hi")
    found = find_images(tmp_path / "a")
    assert [rel.as_posix() for _, rel in found] == ["sub/y.jpg", "x.png"]  # sorted by parts
    with pytest.raises(DatasetError, match="not found: .*nowhere"):
        find_images([tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images found in .*empty"):
        find_images([tmp_path / "a", tmp_path / "empty"])


def test_match_by_relative_path_and_stem(tmp_path):
    _put(tmp_path / "a" / "x.png")
    _put(tmp_path / "a" / "sub" / "x.png")
    _put(tmp_path / "b" / "x.jpg")
    _put(tmp_path / "b" / "sub" / "x.bmp")
    pairs = match_partners(tmp_path / "a", tmp_path / "b")
    assert [(p.relative_to(tmp_path).as_posix(), q.name) for p, q in pairs] == [
        ("a/sub/x.png", "x.bmp"),
        ("a/x.png", "x.jpg"),
    ]


def test_a_file_without_partner_names_it_and_the_folder(tmp_path):
    _put(tmp_path / "a" / "x.png")
    _put(tmp_path / "a" / "lonely.png")
    _put(tmp_path / "b" / "x.png")
    with pytest.raises(DatasetError) as info:
        match_partners(tmp_path / "a", tmp_path / "b")
    msg = str(info.value)
    assert "lonely.png" in msg and str(tmp_path / "b") in msg
    _put(tmp_path / "b" / "lonely.png")
    _put(tmp_path / "b" / "extra.png")
    with pytest.raises(DatasetError, match=f"no partner in {tmp_path / 'a'} for .*extra.png"):
        match_partners(tmp_path / "a", tmp_path / "b")


def test_same_name_twice_is_ambiguous(tmp_path):
    _put(tmp_path / "a" / "x.png")
    _put(tmp_path / "a" / "x.jpg")
    _put(tmp_path / "b" / "x.png")
    with pytest.raises(DatasetError, match="same name"):
        match_partners(tmp_path / "a", tmp_path / "b")
