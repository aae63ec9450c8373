"""Design rules as tests: the core names no family, plugins import only public names, every
hook is documented and tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ganedit.testing import (
    core_names_no_family,
    hook_names,
    hooks_documented,
    plugin_imports_only_public,
)

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "ganedit"
# "cut" is left out: the scanner matches whole words, and core messages say "cut short".
BUILTIN_FAMILIES = (
    "srgan", "dcgan", "pix2pix", "cyclegan", "inpaint", "spandrel", "spandrel-inpaint"
)  # fmt: skip
FIXTURE_FAMILIES = ("tiny-sr", "tiny-gen", "broken-half", "clash-ok")


def test_core_names_no_family() -> None:
    assert core_names_no_family(CORE, BUILTIN_FAMILIES + FIXTURE_FAMILIES) == []


def test_core_rule_catches_code_but_not_docs(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        '"""Docstring example: ganedit.load("srgan")."""\n'
        "# a comment about srgan\n"
        "def f():\n"
        '    """Also fine: dcgan."""\n'
        '    if name == "srgan":  # special case\n'
        "        return 1\n"
        "    srganish = 2\n"
        '    return "tiny-sr"\n'
    )
    found = core_names_no_family(tmp_path, ["srgan", "dcgan", "tiny-sr"])
    assert [f.split(":", 1)[1] for f in found] == ["5: srgan", "8: tiny-sr"]


def test_builtin_plugins_import_only_public_names() -> None:
    assert plugin_imports_only_public(ROOT / "plugins") == []


def test_fixture_plugins_import_only_public_names() -> None:
    assert plugin_imports_only_public(ROOT / "tests" / "fixtures") == []


def test_import_rule_catches_private_reaches(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text(
        "import ganedit\n"
        "import ganedit.io\n"
        "from ganedit import ModelFamily, Kind, hookimpl, io, nn\n"
        "from ganedit.nn import gan_loss\n"
        "from ganedit.io import datasets\n"
        "from ganedit.infer.run.runner import run_folder\n"
        "from ganedit.plugins import get_family\n"
        "from ganedit import _LAZY\n"
        "import ganedit.io.decode\n"
        "from ganedit.config import _base_type\n"
        "x = ganedit._LAZY\n"
        "y = ganedit.load\n"
    )
    found = [f.split(":", 1)[1] for f in plugin_imports_only_public(tmp_path)]
    assert found == [
        "5: ganedit.io.datasets is not in its __all__",
        "6: ganedit.infer.run.runner is internal; import from ganedit.infer",
        "7: ganedit.plugins is not a public module",
        "8: ganedit._LAZY is not public",
        "9: ganedit.io.decode is internal; import from ganedit.io",
        "10: ganedit.config._base_type is private",
        "11: ganedit._LAZY is not public",
    ]


def test_import_rule_checks_a_single_module_plugin(tmp_path: Path) -> None:
    """A one-file plugin (both worked examples in the docs are one module) is scanned too, and
    a path that does not exist is an error rather than a pass."""
    one = tmp_path / "one_module.py"
    one.write_text(
        "import ganedit\nfrom ganedit.infer.run.runner import run_folder\nx = ganedit._LAZY\n"
    )
    found = plugin_imports_only_public(one)
    assert [f.rsplit(":", 2)[0] for f in found] == [str(one)] * 2
    assert [f.split(":", 1)[1] for f in found] == [
        "2: ganedit.infer.run.runner is internal; import from ganedit.infer",
        "3: ganedit._LAZY is not public",
    ]
    with pytest.raises(FileNotFoundError, match="no plugin file or folder"):
        plugin_imports_only_public(tmp_path / "missing.py")


def test_every_hook_is_documented_with_an_example() -> None:
    assert hook_names(), "no hook specs found"
    assert hooks_documented() == []


def test_every_hook_has_a_test() -> None:
    text = (ROOT / "tests" / "test_hookspecs.py").read_text(encoding="utf-8")
    tested = set(re.findall(r"def test_(ganedit_\w+?)(?:__\w+)?\(", text))
    assert set(hook_names()) <= tested, f"untested hooks: {set(hook_names()) - tested}"
