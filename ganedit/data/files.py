"""Finding training files and matching partners (input/target, image/mask) across folders.

Files are found with :func:`ganedit.io.walk_inputs` (folders recursively, hidden files skipped,
image suffixes only). Partners are matched by their path relative to their folder, without the
suffix: ``a/sub/x.png`` pairs with ``b/sub/x.jpg``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ganedit.data.errors import DatasetError

__all__ = ["Paths", "as_paths", "find_images", "match_partners"]

#: Training inputs: one file or folder, or several.
Paths = Sequence[str | os.PathLike[str]] | str | os.PathLike[str]

#: A found file: (path, path relative to its input folder).
Found = tuple[Path, Path]


def as_paths(paths: Paths) -> list[Path]:
    """``paths`` as a list of :class:`~pathlib.Path` (a single path becomes a list of one)."""
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _names(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def find_images(paths: Paths) -> list[Found]:
    """Every image under ``paths``, sorted by relative path.

    Args:
        paths: files (taken as given) and folders (walked recursively).

    Returns:
        ``[(path, rel)]``: each file and its path relative to its input folder.

    Raises:
        DatasetError: a path does not exist, or a folder (or the whole input) holds no image;
            the message names it.
    """
    from ganedit.io import walk_inputs

    plist = as_paths(paths)
    result = walk_inputs(plist)
    if result.missing:
        raise DatasetError(f"training data not found: {_names(result.missing)}")
    roots = {it.root for it in result.items}
    empty = [p for p in plist if p not in roots]
    if empty or not result.items:
        raise DatasetError(f"no images found in {_names(empty or plist)}")
    return [(it.path, it.rel) for it in result.items]


def _by_stem(found: Sequence[Found]) -> dict[Path, Path]:
    table: dict[Path, Path] = {}
    for path, rel in found:
        key = rel.with_suffix("")
        if key in table:
            raise DatasetError(f"{table[key]} and {path} have the same name: which one is meant?")
        table[key] = path
    return table


def _unmatched(mine: dict[Path, Path], other: dict[Path, Path], where: Sequence[Path]) -> None:
    missing = [str(mine[k]) for k in mine if k not in other]
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise DatasetError(
            f"no partner in {_names(where)} for {', '.join(missing[:5])}{more} "
            "(files are matched by relative path and name, suffix ignored)"
        )


def match_partners(a: Paths, b: Paths) -> list[tuple[Path, Path]]:
    """Pair the images of ``a`` and ``b`` by relative path without suffix.

    Args:
        a: one side (files or folders), e.g. the inputs or the images.
        b: the other side, e.g. the targets or the masks.

    Returns:
        ``[(file of a, its partner in b)]`` in the order of ``a``.

    Raises:
        DatasetError: a side is missing or empty, a file of either side has no partner (the
            message names the file and where its partner was looked for), or two files of one
            side differ only by suffix.
    """
    fa, fb = _by_stem(find_images(a)), _by_stem(find_images(b))
    _unmatched(fa, fb, as_paths(b))
    _unmatched(fb, fa, as_paths(a))
    return [(path, fb[key]) for key, path in fa.items()]
