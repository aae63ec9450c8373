"""The layers of the code base as tests, read from the source with :mod:`ast` (nothing is
imported): ``io <- data <- engine``, ``io <- infer``; ``engine`` imports neither ``infer`` nor
``plugins.py`` nor ``cli``; the core imports no plugin; no plugin imports another plugin; a
plugin imports only public names; and the package-level imports between ganedit's parts form
no cycle.

An import is *package-level* (runs when the module is imported: module body, class bodies,
``try``/``if`` at the top), *function-level* (inside a function: runs when called) or
*type-only* (under ``if TYPE_CHECKING:``, never runs). The layer rules hold at the first two
levels, each checked (and reported) on its own; type-only imports are free.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ganedit.testing import plugin_imports_only_public

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("package", "function")

# part -> the parts of ganedit it must not import (a part is ``ganedit.<first name>``).
_TOP = ("training", "plugins", "cli", "serve", "importing", "testing")
FORBIDDEN: dict[str, frozenset[str]] = {
    "ganedit.io": frozenset(
        f"ganedit.{p}" for p in ("data", "engine", "infer", "family", "nn", "weights", *_TOP)
    ),
    "ganedit.data": frozenset(f"ganedit.{p}" for p in ("engine", "infer", *_TOP)),
    "ganedit.engine": frozenset(f"ganedit.{p}" for p in ("infer", *_TOP)),
    "ganedit.infer": frozenset(f"ganedit.{p}" for p in ("training", "cli", "serve", "testing")),
    "ganedit.nn": frozenset(f"ganedit.{p}" for p in ("io", "data", "engine", "infer", *_TOP)),
}


@dataclass(frozen=True)
class Import:
    """One imported module: ``source`` (the importing module) imports ``target`` at
    ``level`` (``"package"``, ``"function"`` or ``"type"``) on ``line`` of ``path``."""

    source: str
    target: str
    level: str
    path: Path
    line: int

    def __str__(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {self.target}"


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules ``node`` imports (``from a import b`` counts as ``a.b``, which is ``a``'s
    part either way); relative imports resolved against ``module``."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".")[: None if is_package else -1]
        base = base[: len(base) - node.level + 1]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [f"{prefix}.{a.name}" if a.name != "*" else prefix for a in node.names]


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST, level: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, level
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, "type" if level == "type" else "function")
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), "type")
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), level)
        else:
            yield from _walk(child, level)


def scan(base: Path, folder: str) -> list[Import]:
    """Every import of every ``*.py`` under ``base/folder`` (a package, or a single
    ``.py`` file), module names taken relative to ``base``."""
    start = base / folder
    paths = [start] if start.is_file() else sorted(start.rglob("*.py"))
    found = []
    for path in paths:
        module = _module_name(path, base)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, level in _walk(tree, "package"):
            for target in _targets(node, module, path.name == "__init__.py"):
                found.append(Import(module, target, level, path, node.lineno))
    return found


def part(module: str) -> str:
    """``ganedit.engine.loop`` -> ``ganedit.engine``; ``ganedit_dcgan.x`` -> ``ganedit_dcgan``."""
    names = module.split(".")
    return ".".join(names[:2]) if names[0] == "ganedit" else names[0]


def layer_violations(imports: list[Import], level: str) -> list[str]:
    """Imports at ``level`` that break :data:`FORBIDDEN` or reach a plugin from the core."""
    return [
        f"{part(i.source)} imports {part(i.target)}: {i}"
        for i in imports
        if i.level == level
        and (
            part(i.target) in FORBIDDEN.get(part(i.source), ())
            or part(i.target).startswith("ganedit_")
        )
    ]


def cycles(imports: list[Import]) -> list[str]:
    """Package-level edges ``a -> b`` between ganedit's parts where ``b`` reaches back to
    ``a``; the root ``ganedit`` (lazy re-exports) is left out."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        a, b = part(i.source), part(i.target)
        if i.level == "package" and a != b and b.startswith("ganedit.") and a != "ganedit":
            graph.setdefault(a, set()).add(b)

    @functools.cache
    def reach(start: str) -> frozenset[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    return sorted(f"{a} -> {b}" for a in graph for b in graph[a] if a in reach(b))


@functools.cache
def core_imports() -> list[Import]:
    return scan(ROOT, "ganedit")


def plugin_roots() -> list[tuple[Path, str]]:
    """``(base, name)`` of every built-in plugin. (The fixture plugins under tests/fixtures
    are broken or clashing on purpose, and some import ``ganedit_tiny`` to clash with it.)"""
    return [(ROOT / "plugins", p.name) for p in sorted((ROOT / "plugins").glob("ganedit_*"))]


def other_plugins(base: Path, name: str) -> list[str]:
    """Imports in plugin ``name`` of another ``ganedit_*`` module (any level)."""
    own = Path(name).stem
    return [
        f"{own} imports {part(i.target)}: {i}"
        for i in scan(base, name)
        if part(i.target).startswith("ganedit_") and part(i.target) != own
    ]


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_layers_hold(level: str) -> None:
    assert layer_violations(core_imports(), level) == []


def test_no_package_level_cycle_between_parts() -> None:
    assert cycles(core_imports()) == []


@pytest.mark.parametrize(("base", "name"), plugin_roots(), ids=[n for _, n in plugin_roots()])
def test_no_plugin_imports_another_plugin(base: Path, name: str) -> None:
    assert other_plugins(base, name) == []


@pytest.mark.parametrize(("base", "name"), plugin_roots(), ids=[n for _, n in plugin_roots()])
def test_plugins_import_only_public_names(base: Path, name: str) -> None:
    assert plugin_imports_only_public(base / name) == []


# --- the scanner itself: each rule fails on a tree that breaks it ---------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_scanner_sees_each_level_and_resolves_relative_imports(tmp_path: Path) -> None:
    base = _tree(
        tmp_path,
        {
            "ganedit/__init__.py": "",
            "ganedit/engine/__init__.py": "from .loop import fit\n",
            "ganedit/engine/loop.py": (
                "from typing import TYPE_CHECKING\n"
                "from ..io import read_image\n"
                "if TYPE_CHECKING:\n"
                "    from ganedit.plugins import get_family\n"
                "class A:\n"
                "    import ganedit.infer.options\n"
                "def f():\n"
                "    from ganedit import cli\n"
            ),
            "ganedit/io/__init__.py": "def g():\n    import ganedit.data.masks as m\n",
        },
    )
    got = {(i.source, i.target, i.level, i.line) for i in scan(base, "ganedit")}
    assert got >= {
        ("ganedit.engine", "ganedit.engine.loop.fit", "package", 1),
        ("ganedit.engine.loop", "ganedit.io.read_image", "package", 2),
        ("ganedit.engine.loop", "ganedit.plugins.get_family", "type", 4),
        ("ganedit.engine.loop", "ganedit.infer.options", "package", 6),
        ("ganedit.engine.loop", "ganedit.cli", "function", 8),
        ("ganedit.io", "ganedit.data.masks", "function", 2),
    }
    imports = scan(base, "ganedit")
    assert [v.split(":")[0] for v in layer_violations(imports, "package")] == [
        "ganedit.engine imports ganedit.infer"
    ]
    assert [v.split(":")[0] for v in layer_violations(imports, "function")] == [
        "ganedit.engine imports ganedit.cli",
        "ganedit.io imports ganedit.data",
    ]


def test_the_cycle_and_plugin_rules_fail_when_broken(tmp_path: Path) -> None:
    base = _tree(
        tmp_path,
        {
            "ganedit/a.py": "import ganedit.b\n",
            "ganedit/b/__init__.py": "from ganedit.a import x\n",
            "ganedit/c.py": "def f():\n    import ganedit.a\n",
            "p/ganedit_one/__init__.py": "def f():\n    from ganedit_two.net import Net\n",
            "p/ganedit_three.py": "import ganedit_three\n",
        },
    )
    assert cycles(scan(base, "ganedit")) == ["ganedit.a -> ganedit.b", "ganedit.b -> ganedit.a"]
    assert [v.split(":")[0] for v in other_plugins(base / "p", "ganedit_one")] == [
        "ganedit_one imports ganedit_two"
    ]
    assert other_plugins(base / "p", "ganedit_three.py") == []
