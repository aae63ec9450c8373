"""Design rules as functions returning their violations (an empty list = the rule holds).

* :func:`core_names_no_family`: the core package never names a model family outside
  docstring and comment examples.
* :func:`plugin_imports_only_public`: a plugin imports only ganedit's public API.
* :func:`hooks_documented`: every hook spec has a docstring with a complete example.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "PUBLIC_MODULES",
    "core_names_no_family",
    "hooks_documented",
    "plugin_imports_only_public",
]

from ganedit import PUBLIC_MODULES


def _docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by module/class/function docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                end = body[0].end_lineno or body[0].lineno
                lines.update(range(body[0].lineno, end + 1))
    return lines


def _code_without_comments(source: str) -> dict[int, str]:
    """Line number -> the line's code with comments removed."""
    out: dict[int, list[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return dict(enumerate(source.splitlines(), start=1))
    for tok in tokens:
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER):
            continue
        for i, text in enumerate(tok.string.split("\n")):
            out.setdefault(tok.start[0] + i, []).append(text)
    return {k: " ".join(v) for k, v in out.items()}


def core_names_no_family(package_dir: str | Path, family_names: Iterable[str]) -> list[str]:
    """Places where the core names a model family outside docstrings and comments.

    Args:
        package_dir: the core package folder (``ganedit/``), scanned recursively for ``*.py``.
        family_names: names to look for (``srgan``, ``dcgan``, ...); matched case-insensitively
            as whole words (``_`` and ``-`` count as word characters, so ``tiny-sr`` does not
            match inside ``tiny-srx``).

    Returns:
        ``"path:line: name"`` entries; empty when the rule holds.
    """
    names = [n.lower() for n in family_names if n]
    if not names:
        return []
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE
    )
    found = []
    for path in sorted(Path(package_dir).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        try:
            doc_lines = _docstring_lines(ast.parse(source))
        except SyntaxError:
            doc_lines = set()
        for lineno, code in _code_without_comments(source).items():
            if lineno in doc_lines:
                continue
            for m in pattern.finditer(code):
                found.append(f"{path}:{lineno}: {m.group(1)}")
    return found


def _is_public(module: str, names: Iterable[str]) -> list[str]:
    """Problems with ``from module import names`` / ``import module`` for a plugin."""
    if module != "ganedit" and not module.startswith("ganedit."):
        return []
    problems = []
    if module == "ganedit":
        import ganedit

        for n in names:
            if n == "*":
                continue
            sub = f"ganedit.{n}"
            if n.startswith("_") or (n not in ganedit.__all__ and sub not in PUBLIC_MODULES):
                problems.append(f"ganedit.{n} is not public")
        return problems
    top = ".".join(module.split(".")[:2])
    if top not in PUBLIC_MODULES:
        return [f"{module} is not a public module"]
    if any(part.startswith("_") for part in module.split(".")):
        return [f"{module} is private"]
    if module != top:
        return [f"{module} is internal; import from {top}"]
    import importlib

    exported = set(getattr(importlib.import_module(top), "__all__", ()))
    return [
        f"{module}.{n} is private" if n.startswith("_") else f"{module}.{n} is not in its __all__"
        for n in names
        if n != "*" and (n.startswith("_") or n not in exported)
    ]


def plugin_imports_only_public(plugin_dir: str | Path) -> list[str]:
    """Imports in ``plugin_dir`` (a plugin package or any folder, scanned recursively, or a
    single-module plugin's ``.py`` file) that reach past ganedit's public API.

    Allowed: ``import ganedit`` and its public names (``ganedit.__all__``), and the public
    sub-modules in :data:`ganedit.PUBLIC_MODULES` (top level only: ``ganedit.io`` yes,
    ``ganedit.io.decode`` no), and from those only the names in the module's ``__all__``.
    Anything else (``ganedit.infer.run.runner``, ``ganedit.plugins``, underscore names) is a
    violation. Attribute access through an imported name is checked the same way:
    ``ganedit._LAZY``, ``ganedit.infer.tiling`` (after ``import ganedit`` or
    ``import ganedit.infer``) and ``gi.tiling`` (after ``import ganedit.infer as gi``).

    Returns:
        ``"path:line: what"`` entries; empty when the rule holds.

    Raises:
        FileNotFoundError: ``plugin_dir`` does not exist (a typo must not pass the rule).
    """
    root = Path(plugin_dir)
    if not root.exists():
        raise FileNotFoundError(f"no plugin file or folder at {root}")
    found = []
    for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path}:{line}: {p}" for line, p in _module_import_problems(tree)]
    return found


def _module_import_problems(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, problem)`` for the imports of one module and the attributes read through the
    ganedit modules they bind (``name -> module``)."""
    found: list[tuple[int, str]] = []
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found += [(node.lineno, p) for p in _is_public(a.name, [])]
                if a.name == "ganedit" or a.name.startswith("ganedit."):
                    bound[a.asname or "ganedit"] = a.name if a.asname else "ganedit"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            found += [(node.lineno, p) for p in _is_public(node.module, names)]
            for a in node.names:
                if node.module == "ganedit" and f"ganedit.{a.name}" in PUBLIC_MODULES:
                    bound[a.asname or a.name] = f"ganedit.{a.name}"
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            found += [(node.lineno, p) for p in _attribute_problems(node, bound)]
    return found


def _attribute_problems(node: ast.Attribute, bound: dict[str, str]) -> list[str]:
    """Problems with ``name.a.b...`` where ``name`` is bound to a ganedit module: each step
    into a public sub-module is followed, the first other attribute must be public."""
    chain: list[str] = []
    base: ast.expr = node
    while isinstance(base, ast.Attribute):
        chain.insert(0, base.attr)
        base = base.value
    if not (isinstance(base, ast.Name) and base.id in bound):
        return []
    module = bound[base.id]
    for attr in chain:
        if f"{module}.{attr}" in PUBLIC_MODULES:
            module = f"{module}.{attr}"
            continue
        if module == "ganedit":
            return _is_public("ganedit", [attr])
        return _is_public(module, [attr])
    return []


def hooks_documented() -> list[str]:
    """Hook specs in :mod:`ganedit.hookspecs` without a docstring holding an ``Example``
    followed by code.

    Returns:
        ``"hook: what is missing"`` entries; empty when the rule holds.
    """
    from ganedit import hookspecs

    problems = []
    for name in hook_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        if len(doc.strip()) < 40:
            problems.append(f"{name}: no docstring (its contract)")
        elif not re.search(r"Example[^\n]*::\n\s*\n\s+\S", doc):
            problems.append(f"{name}: docstring has no 'Example::' code block")
    return problems


def hook_names() -> list[str]:
    """The names of every hook spec in :mod:`ganedit.hookspecs`."""
    from ganedit import hookspecs
    from ganedit.hookspecs import PROJECT

    return sorted(
        n
        for n in dir(hookspecs)
        if callable(getattr(hookspecs, n)) and hasattr(getattr(hookspecs, n), f"{PROJECT}_spec")
    )
