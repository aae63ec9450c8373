"""Folders the page may name: only under ``--root``.

A client path is absolute or relative to the first root. It is refused when it has a ``..``
part, and when its resolved form (symlinks followed; for a folder that does not exist yet, its
nearest existing parent resolved and the rest appended) is not inside a resolved root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath

__all__ = ["OutsideRoot", "Roots"]


class OutsideRoot(ValueError):
    """A path the server refuses: outside every root, or with a ``..`` part."""


def _resolve(path: Path) -> Path:
    """``path`` resolved with symlinks followed, also when its tail does not exist yet."""
    existing, tail = path, []
    while not existing.exists() and existing != existing.parent:
        tail.append(existing.name)
        existing = existing.parent
    resolved = existing.resolve(strict=True)
    for name in reversed(tail):
        resolved = resolved / name
    return resolved


class Roots:
    """The folders given with ``--root`` (resolved once, at start).

    Args:
        roots: existing folders.

    Raises:
        ValueError: a root that is not an existing folder.
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
        resolved = []
        for r in roots:
            p = Path(r).expanduser()
            if not p.is_dir():
                raise ValueError(f"--root {r}: not an existing folder")
            resolved.append(p.resolve(strict=True))
        self.paths: list[Path] = resolved

    def __bool__(self) -> bool:
        return bool(self.paths)

    def resolve(self, text: str | None) -> Path:
        """The resolved path for a client's ``text`` (absolute, or relative to the first root).

        Raises:
            OutsideRoot: no roots, an empty path, a ``..`` part, or a resolved path outside
                every root.
        """
        if not self.paths:
            raise OutsideRoot("no folders are served: start `ganedit serve --root DIR`")
        if not text or not str(text).strip():
            raise OutsideRoot("a folder path is required")
        raw = str(text).strip()
        if "\x00" in raw or ".." in PurePath(raw.replace("\\", "/")).parts:
            raise OutsideRoot(f"{raw}: '..' is not allowed in a path")
        given = Path(raw).expanduser()
        candidate = given if given.is_absolute() else self.paths[0] / given
        try:
            resolved = _resolve(candidate)
        except OSError as exc:
            raise OutsideRoot(f"{raw}: {exc.strerror or exc}") from None
        if not any(resolved == r or r in resolved.parents for r in self.paths):
            raise OutsideRoot(f"{raw}: outside the served folders (--root)")
        return resolved

    def listing(self, text: str | None) -> dict[str, object]:
        """The sub-folders of a served folder (``None``/empty: the roots themselves)."""
        if not text:
            return {"path": None, "parent": None, "folders": [os.fspath(r) for r in self.paths]}
        folder = self.resolve(text)
        if not folder.is_dir():
            raise OutsideRoot(f"{text}: not a folder")
        names = sorted(
            e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
        )
        parent = None if folder in self.paths else os.fspath(folder.parent)
        return {
            "path": os.fspath(folder),
            "parent": parent,
            "folders": [os.fspath(folder / n) for n in names],
        }
