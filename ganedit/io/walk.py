"""Finding input images in files and folders, and planning where their outputs go.

Rules of :func:`walk_inputs`:

- Inputs are files and/or folders; folders are walked recursively, following symlinks, but each
  real folder is visited once, so symlink loops are safe.
- ``InputItem.rel`` is the path relative to the input folder it came from (mirrored under the
  output folder); for a file given directly it is just the file's name.
- Files found in a folder whose suffix is not in :data:`IMAGE_EXTENSIONS` (case-insensitive)
  are skipped and listed in ``non_images``; so are entries that are not regular files (broken
  links, sockets, FIFOs). A file named directly as an input is an item whatever its suffix:
  one that cannot be read (SVG, HEIC...) then fails with its reason instead of vanishing.
- Hidden entries (name starting with ``.``) inside a folder are skipped and counted in
  ``hidden``; a hidden file named directly as an input is used.
- ``exclude`` folders (e.g. an output folder inside an input folder) are pruned.
- Inputs that do not exist are listed in ``missing``, not raised; inputs named directly that
  exist but are neither a file nor a folder (a FIFO, a socket, a broken link) are listed in
  ``refused`` with the reason.
- The same file reached twice (e.g. a folder and a file inside it both given) is listed once.
- Order is stable: inputs in the order given, each one's files sorted by ``rel``.
- Collisions: when two inputs give the same ``rel`` (``a/1.png`` and ``b/1.png`` given as
  folders ``a`` and ``b``), every item of each input involved is prefixed with the name of its
  input folder (for a file given directly, its parent folder's name): ``a/1.png`` and
  ``b/1.png``. Duplicate folder names get ``-2``, ``-3``, ...; any clash left after that gets
  ``-2``, ``-3`` added to the file stem. ``WalkResult.renamed`` counts the items renamed.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "IMAGE_EXTENSIONS",
    "RUNNER_NAMES",
    "InputItem",
    "WalkResult",
    "check_output_location",
    "file_identity",
    "plan_output",
    "runner_owned",
    "walk_inputs",
]

#: Suffixes (lower-case, with the dot) that :func:`walk_inputs` treats as images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff"}
)


@dataclass(frozen=True)
class InputItem:
    """One input image.

    Attributes:
        path: The file, as found (not resolved through symlinks).
        rel: Where it goes under the output folder (with the input's suffix).
        root: The input (folder or file) it came from.
    """

    path: Path
    rel: Path
    root: Path | None = None


@dataclass
class WalkResult:
    """What :func:`walk_inputs` found."""

    items: list[InputItem] = field(default_factory=list)
    non_images: list[Path] = field(default_factory=list)
    hidden: int = 0
    missing: list[Path] = field(default_factory=list)
    renamed: int = 0
    refused: list[tuple[Path, str]] = field(default_factory=list)


def _not_a_file(p: Path) -> str:
    """Why an input named directly, which exists, is neither a file nor a folder."""
    if p.is_symlink() and not p.exists():
        return f"it is a broken symbolic link (to {os.readlink(p)!r}, which does not exist)"
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    import stat

    kind = next(
        (name for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device")) if test(mode)),
        "not a regular file",
    )  # fmt: skip
    return f"it is {kind}, not an image file"


def _real(p: Path) -> str:
    return os.path.realpath(p)


def file_identity(p: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of ``p`` (following symlinks), or ``None`` when it cannot be stat'ed.

    Two paths with one identity are the same file or folder, however they are spelled: through
    symlinks, bind mounts, a second mount of the same file system or hard links.
    """
    try:
        st = os.stat(p)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _ancestors(p: Path) -> list[tuple[int, int]]:
    """Identities of ``p`` (or its nearest existing ancestor) and every folder above it."""
    out: list[tuple[int, int]] = []
    cur = Path(os.path.abspath(p))
    while True:
        ident = file_identity(cur)
        if ident is not None and (not out or out[-1] != ident):
            out.append(ident)
        if cur.parent == cur:
            return out
        cur = cur.parent


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk_dir(
    root: Path, excluded: set[object], result: WalkResult, visited: set[object]
) -> list[tuple[Path, Path]]:
    found: list[tuple[Path, Path]] = []
    stack: list[tuple[Path, Path]] = [(root, Path())]
    while stack:
        folder, rel = stack.pop()
        real: object = file_identity(folder) or _real(folder)
        if real in visited or real in excluded:
            continue
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            result.non_images.append(folder)  # unreadable folder: reported, not fatal
            continue
        subdirs: list[tuple[Path, Path]] = []
        for entry in entries:
            path = Path(entry.path)
            if _is_hidden(entry.name):
                result.hidden += 1
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks
                is_file = entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                subdirs.append((path, rel / entry.name))
            elif is_file and path.suffix.lower() in IMAGE_EXTENSIONS:
                found.append((path, rel / entry.name))
            else:
                result.non_images.append(path)
        stack.extend(reversed(subdirs))
    found.sort(key=lambda pr: pr[1].parts)
    return found


def walk_inputs(
    inputs: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> WalkResult:
    """Collect the images in ``inputs`` (files and/or folders); see the module doc for the rules.

    Args:
        inputs: Files and folders (a single path is accepted too).
        exclude: Folders to leave out (with everything below them), e.g. the output folder.

    Returns:
        A :class:`WalkResult`.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    result = WalkResult()
    excluded: set[object] = set()
    for e in exclude:
        excluded.add(file_identity(e) or _real(Path(e)))
    seen_files: set[object] = set()
    visited: set[object] = set()
    groups: list[tuple[Path, list[tuple[Path, Path]]]] = []
    for raw in inputs:
        inp = Path(raw)
        if inp.is_dir():
            found = _walk_dir(inp, excluded, result, visited)
        elif inp.is_file():  # named on purpose: tried whatever its suffix (GIF, HEIC...)
            found = [(inp, Path(inp.name))]
        elif os.path.lexists(inp):  # named on purpose but not a file: a failure with its reason
            result.refused.append((inp, _not_a_file(inp)))
            continue
        else:
            result.missing.append(inp)
            continue
        unique = []
        for path, rel in found:
            key: object = file_identity(path) or os.path.normpath(os.path.abspath(path))
            if key not in seen_files:
                seen_files.add(key)
                unique.append((path, rel))
        groups.append((inp, unique))
    result.renamed = _disambiguate(groups)
    for inp, found in groups:
        result.items.extend(InputItem(path, rel, inp) for path, rel in found)
    return result


def _prefix_name(inp: Path) -> str:
    folder = inp if inp.is_dir() else inp.parent
    return Path(os.path.abspath(folder)).name or "input"


def _disambiguate(groups: list[tuple[Path, list[tuple[Path, Path]]]]) -> int:
    """Prefix colliding inputs' items with their folder name (in place); return items renamed."""
    owners: dict[Path, set[int]] = defaultdict(set)
    for i, (_inp, found) in enumerate(groups):
        for _path, rel in found:
            owners[rel].add(i)
    clashing = sorted({i for who in owners.values() if len(who) > 1 for i in who})
    renamed = 0
    used_prefixes: dict[str, int] = {}
    for i in clashing:
        inp, found = groups[i]
        name = _prefix_name(inp)
        n = used_prefixes.get(name, 0) + 1
        used_prefixes[name] = n
        prefix = name if n == 1 else f"{name}-{n}"
        groups[i] = (inp, [(path, Path(prefix) / rel) for path, rel in found])
        renamed += len(found)
    # anything still clashing (e.g. with an un-prefixed input): number the later ones
    taken: set[Path] = set()
    for i, (inp, found) in enumerate(groups):
        fixed = []
        for path, rel in found:
            new, k = rel, 1
            while new in taken:
                k += 1
                new = rel.with_name(f"{rel.stem}-{k}{rel.suffix}")
            if new != rel:
                renamed += 1
            taken.add(new)
            fixed.append((path, new))
        groups[i] = (inp, fixed)
    return renamed


def check_output_location(
    inputs: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    excluded: bool = False,
) -> None:
    """Refuse an output folder that would mix outputs into the inputs or overwrite an input.

    Folders are compared by identity (device and inode, :func:`file_identity`), not by their
    path strings, so a bind mount, a second mount or a symlink of an input folder is seen as
    that folder.

    Args:
        inputs: The input files and folders (as given to :func:`walk_inputs`).
        out_dir: The output folder (need not exist).
        excluded: The caller excludes ``out_dir`` from the walk (``walk_inputs(...,
            exclude=[out_dir])``), so an output folder *inside* an input folder is allowed.

    Raises:
        ValueError: ``out_dir`` is an existing file; is an input folder (by any path); is
            inside an input folder (unless ``excluded``); or is the folder of an input file
            given directly (its output would have the same path and overwrite it).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {str(out)!r} is an existing file, not a folder")
    real = Path(_real(out))
    out_id = (file_identity(out) if out.is_dir() else None) or (
        file_identity(real) if real.is_dir() else None
    )
    above = _ancestors(real)  # the output (or where it will be created) and every folder above
    for raw in inputs:
        inp = Path(raw)
        if inp.is_dir():
            in_id = file_identity(inp)
            if out_id is not None and out_id == in_id:
                how = "" if _real(inp) == str(real) else " (the same folder, by another path)"
                raise ValueError(
                    f"output folder {str(out)!r} is the input folder {str(inp)!r}{how}; "
                    "outputs would overwrite the inputs. Choose another output folder."
                )
            if in_id in above and not excluded:
                raise ValueError(
                    f"output folder {str(out)!r} is inside the input folder {str(inp)!r}; "
                    "outputs would be read back as inputs. Choose a folder outside it."
                )
        elif inp.is_file() and out_id is not None and file_identity(inp.parent) == out_id:
            raise ValueError(
                f"output folder {str(out)!r} holds the input file {str(inp)!r}; its output "
                "would overwrite it. Choose another output folder."
            )


#: Names the folder runner writes at the top of an output folder: the manifest
#: (``ganedit-run.json``, torchrun parts ``ganedit-run.rank<r>.json``), the locks
#: (``.ganedit-run.lock``, ``.ganedit-run.rank<r>.lock``, their ``.ganedit-lock.*`` temp files)
#: and atomic-write temp files (``.<name>.<random>.ganedit-tmp``). Compared case-insensitively
#: (a case-insensitive file system would mix ``Ganedit-Run.json`` up with the manifest).
RUNNER_NAMES = re.compile(
    r"ganedit-run(\.rank\d+)?\.json|\.ganedit-run(\.rank\d+)?\.lock|\.ganedit-lock\..*"
    r"|\..+\.ganedit-tmp",
    re.IGNORECASE,
)


def runner_owned(name: str) -> bool:
    """True when ``name`` is a name the folder runner writes in an output folder's top level."""
    return RUNNER_NAMES.fullmatch(name) is not None


def plan_output(item: InputItem, out_dir: str | os.PathLike[str], ext: str) -> Path:
    """Return ``out_dir / item.rel`` with the suffix replaced by ``ext`` (``".png"`` or ``"png"``).

    An input sub-folder whose name the runner owns (a folder ``ganedit-run.json`` would
    mirror onto the manifest) is mirrored with ``-2`` added to its stem
    (``ganedit-run-2.json/``), so outputs and the runner's files never take each other's
    names (:data:`RUNNER_NAMES`).
    """
    suffix = ext if ext.startswith(".") else "." + ext
    rel = item.rel.with_suffix(suffix)
    if runner_owned(rel.parts[0]):
        first = Path(rel.parts[0])
        rel = Path(f"{first.stem}-2{first.suffix}", *rel.parts[1:])
    return Path(out_dir) / rel
