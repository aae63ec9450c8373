"""The one error of :mod:`ganedit.data`."""

from __future__ import annotations

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """Training data that cannot be used; the message names the file or folder and the reason.

    Raised for: a missing or empty folder, a file without its partner, an unreadable or
    undersized image, images of different sizes without a crop, a bad idx file.
    """
