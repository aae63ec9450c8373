"""The public API surface and its checked-in snapshot.

The surface is ``ganedit.__all__`` plus the ``__all__`` of every public module
(:data:`ganedit.PUBLIC_MODULES`). ``tests/api_surface.json`` holds the last announced surface;
the test ``tests/test_api_surface.py`` fails when a name (or a whole public module) has gone
missing from the code without the snapshot being regenerated, and reports names that were
added. A removal is announced by saying so in the change (commit message and README) and
regenerating the snapshot::

    python -m ganedit.testing.api_snapshot --write      # rewrite tests/api_surface.json
    python -m ganedit.testing.api_snapshot              # print what was added and removed

Exit status without ``--write``: 1 when a name was removed, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["SNAPSHOT", "api_surface", "compare", "read_snapshot", "write_snapshot"]

SNAPSHOT = Path(__file__).resolve().parents[2] / "tests" / "api_surface.json"


def api_surface() -> dict[str, list[str]]:
    """``{"ganedit": sorted __all__, "ganedit.io": sorted __all__, ...}`` for ``ganedit`` and
    every module in :data:`ganedit.PUBLIC_MODULES` (each one is imported)."""
    import ganedit

    surface = {"ganedit": sorted(ganedit.__all__)}
    for name in sorted(ganedit.PUBLIC_MODULES):
        module = importlib.import_module(name)
        surface[name] = sorted(getattr(module, "__all__", ()))
    return surface


def compare(
    old: Mapping[str, Sequence[str]], new: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[str]]:
    """``(removed, added)``: the dotted names (``ganedit.io.read_image``; a whole module as
    ``ganedit.io``) in ``old`` and not in ``new``, and the other way round; sorted."""

    def dotted(surface: Mapping[str, Sequence[str]]) -> set[str]:
        names = set(surface)
        for module, exported in surface.items():
            names.update(f"{module}.{n}" for n in exported)
        return names

    before, after = dotted(old), dotted(new)
    return sorted(before - after), sorted(after - before)


def read_snapshot(path: Path = SNAPSHOT) -> dict[str, list[str]]:
    """The snapshot at ``path`` (``{module: [names]}``)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): [str(n) for n in v] for k, v in doc["modules"].items()}


def write_snapshot(path: Path = SNAPSHOT) -> dict[str, list[str]]:
    """Write the current :func:`api_surface` to ``path``; returns it."""
    surface = api_surface()
    doc = {
        "about": "ganedit's public names; regenerate with "
        "`python -m ganedit.testing.api_snapshot --write` after announcing a removal",
        "modules": surface,
    }
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return surface


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m ganedit.testing.api_snapshot",
        description="Compare ganedit's public names with the checked-in snapshot.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite the snapshot")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT, help="the snapshot file")
    args = parser.parse_args(argv)
    old = read_snapshot(args.snapshot) if args.snapshot.is_file() else {}
    new = write_snapshot(args.snapshot) if args.write else api_surface()
    removed, added = compare(old, new)
    for name in removed:
        print(f"removed: {name}")
    for name in added:
        print(f"added: {name}")
    if args.write:
        print(f"wrote {args.snapshot}")
        return 0
    return 1 if removed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
