"""Where a folder run writes: output paths, the refusal to overwrite, atomic writes, temp files.

* Output paths mirror the inputs' relative paths under the output folder; the format is the
  input's unless one is asked for, and falls back to PNG when the format cannot hold the
  result's alpha or 16-bit depth (:func:`ganedit.io.output_format_for`).
* An output path that is an input file (by identity: device and inode, so also through a bind
  mount, a symlink or a hard link), or that another input's output already took, is
  refused (that file fails) instead of overwritten.
* Writes are atomic (temp file + rename); stale temp files of a killed run
  (``.<name>.<random>.ganedit-tmp``) are swept by :func:`sweep_temp_files`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ganedit.io import (
    ImageWriteError,
    InputItem,
    encode_image,
    normalize_format,
    output_format_for,
    plan_output,
)
from ganedit.io.atomic import TEMP_SUFFIX, atomic_write_bytes, temp_prefix
from ganedit.io.metadata import ImageMetadata, embed_metadata
from ganedit.io.walk import file_identity

__all__ = ["Outputs", "encode_write", "sweep_temp_files"]


def sweep_temp_files(out_dir: Path, owned: set[str] | None = None) -> int:
    """Remove stale atomic-write temp files (``.<name>.<random>.ganedit-tmp``) under
    ``out_dir``; with ``owned`` (real paths of target files) only those targeting one of them.
    Returns how many were removed."""
    removed = 0
    if not out_dir.is_dir():
        return 0
    prefixes: dict[str, set[str]] = {}
    for real in owned or ():
        prefixes.setdefault(os.path.dirname(real), set()).add(temp_prefix(Path(real)))
    for root, _dirs, files in os.walk(out_dir):
        mine = prefixes.get(os.path.realpath(root), set())
        for name in files:
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            if owned is not None and not any(_temp_of(name, p) for p in mine):
                continue
            try:
                os.unlink(os.path.join(root, name))
                removed += 1
            except OSError:
                pass
    return removed


def _temp_of(name: str, prefix: str) -> bool:
    """True when ``name`` is a temp file that :func:`atomic_path` made with ``prefix``."""
    return name.startswith(prefix) and len(name) == len(prefix) + 8 + len(TEMP_SUFFIX)


def encode_write(
    path: Path, img: np.ndarray, quality: int | None, metadata: ImageMetadata | None = None
) -> None:
    """Encode ``img`` (HxWxC uint8/uint16 RGB(A)) for ``path``'s suffix and write it atomically,
    with the input's ICC profile and EXIF (``metadata``) where the format holds them.

    Raises:
        ImageWriteError: the encoder refused the image or the file could not be written.
    """
    data = encode_image(img, path.suffix, quality=quality)
    fmt = normalize_format(path.suffix) or ""
    data = embed_metadata(data, fmt, metadata, (img.shape[1], img.shape[0]))
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ImageWriteError(
            path, f"its output {path} could not be written ({exc.strerror or exc})"
        ) from None


class Outputs:
    """The output paths of one run.

    Args:
        out_dir: the output folder.
        fmt: the requested output format (``None``: each input's own).
        items: every input of the run (all ranks), to tell an existing output of this input
            from a PNG fallback that belongs to another.
        protect: more files that must never be replaced (the mask files).
    """

    def __init__(
        self,
        out_dir: Path,
        fmt: str | None,
        items: Iterable[InputItem],
        protect: Iterable[Path] = (),
    ) -> None:
        self.out_dir = out_dir
        self.fmt = fmt
        items = list(items)
        self.primaries = {self.primary(it): it for it in items}
        kept = [it.path for it in items] + list(protect)
        self.input_files = {os.path.realpath(p) for p in kept}
        self.input_ids = {i for i in map(file_identity, kept) if i is not None}
        self.claimed: dict[Path, Path] = {}

    def primary(self, item: InputItem) -> Path:
        """The output path when the result needs no format fallback."""
        ext, _ = output_format_for(item.path.suffix, self.fmt, has_alpha=False, bit_depth=8)
        return plan_output(item, self.out_dir, ext)

    def fallback(self, item: InputItem) -> Path:
        """The PNG path used when the format cannot hold the result."""
        return plan_output(item, self.out_dir, ".png")

    def existing(self, item: InputItem) -> Path | None:
        """An output of ``item`` that already exists (for ``skip_existing``), or ``None``."""
        p = self.primary(item)
        if p.is_file():
            return p
        fallback = self.fallback(item)
        if fallback != p and fallback.is_file() and fallback not in self.primaries:
            return fallback
        return None

    def target(self, item: InputItem, img: np.ndarray) -> tuple[Path, str | None]:
        """``(path, warning)`` for writing ``img`` (HxWxC uint8/uint16) as ``item``'s output;
        the warning says when the format had to change."""
        ext, warning = output_format_for(
            item.path.suffix,
            self.fmt,
            has_alpha=img.ndim == 3 and img.shape[2] in (2, 4),
            bit_depth=16 if img.dtype == np.uint16 else 8,
        )
        return plan_output(item, self.out_dir, ext), warning

    def claim(self, item: InputItem, path: Path) -> str | None:
        """Reserve ``path`` for ``item``; the reason it may not be written, or ``None``."""
        ident = file_identity(path)
        if os.path.realpath(path) in self.input_files or (
            ident is not None and ident in self.input_ids
        ):
            return f"its output {path} is an input (or mask) file; refusing to overwrite it"
        other = self.claimed.get(path)
        if other is not None and other != item.path:
            return f"its output {path} would overwrite the output of {other}"
        self.claimed[path] = item.path
        return None

    def owned(self, items: Iterable[InputItem]) -> set[str]:
        """Real paths this rank may write (its outputs and their PNG fallbacks)."""
        out = set()
        for it in items:
            out.add(os.path.realpath(self.primary(it)))
            out.add(os.path.realpath(self.fallback(it)))
        return out
