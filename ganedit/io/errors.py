"""Errors raised by :mod:`ganedit.io`; each names the file and the reason in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["ImageReadError", "ImageWriteError", "os_error_reason"]


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


def os_error_reason(exc: OSError, known: Mapping[type[OSError], str], failed: str) -> str:
    """The plain-words reason for a failed file operation (no file name).

    Args:
        exc: what the operation raised.
        known: reasons for particular kinds of error, looked up in order (the first kind
            ``exc`` is an instance of wins), e.g. ``{PermissionError: "permission denied"}``.
        failed: how to end "the file could not be ..." for any other error, e.g. ``"read"``.

    Returns:
        The reason, e.g. ``"the file could not be read (No space left on device)"``.
    """
    for kind, reason in known.items():
        if isinstance(exc, kind):
            return reason
    return f"the file could not be {failed} ({exc.strerror or exc})"
