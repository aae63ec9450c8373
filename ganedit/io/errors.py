"""Errors raised by :mod:`ganedit.io`; each names the file and the reason in plain words."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ImageReadError", "ImageWriteError"]


class ImageReadError(ValueError):
    """An image could not be read.

    Attributes:
        path: The file (or the ``name`` given to :func:`~ganedit.io.decode_image`).
        reason: What went wrong, in plain words (no file name).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read image {str(path)!r}: {reason}")

    def __reduce__(self):  # keep pickling (worker pools) working with two arguments
        return (type(self), (self.path, self.reason))


class ImageWriteError(ValueError):
    """An image could not be encoded or written.

    Attributes:
        path: The target file (or ``"<png>"``-style names for in-memory encoding).
        reason: What went wrong, in plain words.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write image {str(path)!r}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))
