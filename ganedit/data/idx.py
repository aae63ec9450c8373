"""The idx format of MNIST and Fashion-MNIST (``train-images-idx3-ubyte[.gz]`` and friends).

An idx file is a big-endian header (two zero bytes, a type code, the number of dimensions, one
uint32 per dimension) followed by the raw array. :func:`read_idx` reads one (gzipped or not);
:func:`find_idx` finds the training images and labels in a folder.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ganedit.data.errors import DatasetError

__all__ = ["find_idx", "read_idx"]

_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _raw_bytes(p: Path) -> bytes:
    try:
        raw = p.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{p}: cannot read idx file ({exc})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (the MNIST / Fashion-MNIST format), gzipped or not.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        The array with the file's shape and dtype (native byte order), e.g. ``(60000, 28, 28)``
        uint8 in ``[0, 255]`` for images or ``(60000,)`` uint8 for labels.

    Raises:
        DatasetError: unreadable, bad magic number, truncated header or data; names the file.
    """
    p = Path(path)
    raw = _raw_bytes(p)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DatasetError(f"{p}: not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{p}: truncated idx header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _DTYPES[raw[2]]
    count = math.prod(shape)
    if len(raw) - header < count * dtype.itemsize:
        raise DatasetError(f"{p}: truncated idx data ({len(raw) - header} bytes for shape {shape})")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def find_idx(folder: str | Path) -> tuple[Path, Path | None] | None:
    """The training idx images (and labels) inside ``folder``.

    Args:
        folder: a folder that may hold ``*-images-idx3-ubyte[.gz]`` files.

    Returns:
        ``(images, labels)``: the ``train*`` images file (else the first images file by name)
        and the labels file beside it (``...-labels-idx1-ubyte[.gz]``) or None; None when the
        folder holds no idx images (or is not a folder).
    """
    f = Path(folder)
    if not f.is_dir():
        return None
    files = sorted(p for p in f.iterdir() if "idx3-ubyte" in p.name)
    if not files:
        return None
    images = next((p for p in files if p.name.startswith("train")), files[0])
    stem = images.name.replace("images-idx3", "labels-idx1").removesuffix(".gz")
    labels = next((f / n for n in (stem, stem + ".gz") if (f / n).is_file()), None)
    return images, labels
