"""plugin_imports_only_public on a single-module plugin: the file itself, or the folder it was
installed into, and attributes read through the ganedit modules it imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganedit.testing import plugin_imports_only_public

ONE_MODULE = """\
import ganedit.infer.tiling
from ganedit.engine.loop import _x
import ganedit.infer as gi
from ganedit import nn as gnn
y = ganedit._LAZY
z = gi.tiling.tiled
w = ganedit.infer.tiling
bad = gnn._private
fine = (ganedit.io.read_image, gnn.adam, ganedit.Kind.IMAGE, gi.load)
"""


@pytest.mark.parametrize("given", ["file", "folder"])
def test_a_one_module_plugin_full_of_private_imports_is_caught(tmp_path: Path, given) -> None:
    module = tmp_path / "site" / "one_module.py"
    module.parent.mkdir()
    module.write_text(ONE_MODULE, encoding="utf-8")
    found = plugin_imports_only_public(module if given == "file" else module.parent)
    assert [f.rsplit(":", 2)[0] for f in found] == [str(module)] * len(found)
    assert [f.split(":", 1)[1] for f in found] == [
        "1: ganedit.infer.tiling is internal; import from ganedit.infer",
        "2: ganedit.engine.loop is internal; import from ganedit.engine",
        "5: ganedit._LAZY is not public",
        "6: ganedit.infer.tiling is not in its __all__",
        "7: ganedit.infer.tiling is not in its __all__",
        "8: ganedit.nn._private is private",
    ]
