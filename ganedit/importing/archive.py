"""Reading a ``torch.save`` file without ``torch.load``: the zip layout and the legacy one.

* zip (torch >= 1.6): one ``<root>/data.pkl`` (exactly one), ``<root>/data/<key>`` per
  storage, ``<root>/byteorder`` (``little``; ``big`` is refused). Archives holding
  TorchScript (``code/``, ``constants.pkl``) are refused before anything is unpickled. Each
  storage entry must hold exactly ``numel * itemsize`` bytes, read with a cap, so neither a
  lying header nor a zip bomb can make it read more.
* legacy (torch < 1.6, ``_use_new_zipfile_serialization=False``): five pickles in a row:
  the magic number, protocol 1001, the system info (little-endian required), the object
  (persistent ids with a sixth field), the storage key list; then per key an 8-byte element
  count (which must match) and the raw bytes. A tar archive (torch < 0.1.10) is refused.

:func:`read_archive` returns the unpickled object (tensors as
:class:`~ganedit.importing.unpickler.TensorRef`) and a ``read(storage)`` function that
fetches a storage's bytes when a tensor is materialised.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganedit.importing.unpickler import ImportRefused, Storage, load_one, restricted_loads

__all__ = ["Limits", "RawCheckpoint", "read_archive"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_TEXT_PICKLE_START = (b"c", b"(", b"]", b"}")


@dataclass(frozen=True)
class Limits:
    """What the importer will read.

    Attributes:
        max_file_bytes: the checkpoint file's size.
        max_pickle_bytes: the object pickle (``data.pkl``): state dicts are kilobytes.
        max_tensor_bytes: all storages together.
        max_entries: zip members.
        seconds: wall-clock limit for unpickling.
    """

    max_file_bytes: int = 8 << 30
    max_pickle_bytes: int = 32 << 20
    max_tensor_bytes: int = 8 << 30
    max_entries: int = 100_000
    seconds: float = 120.0


@dataclass
class RawCheckpoint:
    """An unpickled checkpoint whose tensors are not read yet.

    Attributes:
        obj: the unpickled object (dicts, lists, numbers, TensorRef, Inert).
        layout: ``"zip"`` or ``"legacy"``.
        read: ``Storage -> 1-D tensor`` of its bytes (checked to be exactly its size).
        inert: globals that became placeholders (lenient mode).
    """

    obj: Any
    layout: str
    read: Callable[[Storage], torch.Tensor]
    inert: set[str] = field(default_factory=set)


def _tensor_from_bytes(data: bytes | bytearray, dtype: torch.dtype) -> torch.Tensor:
    if dtype is torch.bool:
        return (
            torch.frombuffer(bytearray(data), dtype=torch.uint8).ne(0)
            if data
            else (torch.empty(0, dtype=torch.bool))
        )
    if not data:
        return torch.empty(0, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype)


class _Storages:
    """Storages by key: one dtype and size per key, a total byte budget."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.by_key: dict[str, Storage] = {}
        self.total = 0

    def get(self, key: str, dtype: torch.dtype, numel: int) -> Storage:
        old = self.by_key.get(key)
        if old is not None:
            if old.dtype != dtype or old.numel != numel:
                raise ImportRefused(f"storage {key} is declared twice with different types")
            return old
        nbytes = numel * _itemsize(dtype)
        self.total += nbytes
        if self.total > self.limits.max_tensor_bytes:
            raise ImportRefused(f"tensors exceed the limit of {self.limits.max_tensor_bytes} bytes")
        st = self.by_key[key] = Storage(key, dtype, numel)
        return st


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


# ------------------------------------------------------------------------------------ zip
def _zip_root(zf: zipfile.ZipFile, limits: Limits) -> str:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ImportRefused(f"the archive has {len(infos)} members (limit {limits.max_entries})")
    names = [i.filename for i in infos]
    for i in infos:  # torch stores members uncompressed; weights deflate by ~10% at most
        if i.file_size > max(1 << 20, 100 * i.compress_size):
            raise ImportRefused(
                f"archive member {i.filename} inflates {i.compress_size} bytes to "
                f"{i.file_size} (a zip bomb?)"
            )
    pkls = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    for n in names:
        parts = n.split("/")
        if "code" in parts[:-1] or parts[-1] == "constants.pkl" or n.endswith("/code/"):
            raise ImportRefused(
                "this is a TorchScript archive (it holds code); ganedit imports only plain "
                "state dicts"
            )
    if not pkls:
        raise ImportRefused("a zip without data.pkl is not a torch.save file")
    if len(pkls) > 1:
        raise ImportRefused(f"the archive holds {len(pkls)} data.pkl files; expected one")
    root = pkls[0][: -len("data.pkl")]
    order = zf.read(root + "byteorder") if root + "byteorder" in names else b"little"
    if order.strip() != b"little":
        raise ImportRefused(f"byte order {order[:16]!r}: only little-endian files are read")
    return root


def _read_member(zf: zipfile.ZipFile, name: str, want: int | None, cap: int) -> bytes:
    """A member's bytes; exactly ``want`` when given, never more than ``cap``."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ImportRefused(f"archive member {name} is missing") from None
    if want is not None and info.file_size != want:
        raise ImportRefused(
            f"storage {name}: {info.file_size} bytes where its tensor needs {want} (size mismatch)"
        )
    limit = cap if want is None else want
    if info.file_size > limit:
        raise ImportRefused(f"archive member {name} is {info.file_size} bytes (limit {limit})")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit or (want is not None and len(data) != want):
        raise ImportRefused(f"archive member {name} does not hold the size it declares")
    return data


def _read_zip(path: Path, limits: Limits, lenient: bool, deadline: float) -> RawCheckpoint:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportRefused(f"not a readable zip archive ({exc})") from None
    root = _zip_root(zf, limits)
    storages = _Storages(limits)

    def storage(key: str, dtype: torch.dtype, numel: int) -> Storage:
        st = storages.get(key, dtype, numel)
        info_name = f"{root}data/{key}"
        try:
            size = zf.getinfo(info_name).file_size
        except KeyError:
            raise ImportRefused(f"storage {key} is missing from the archive") from None
        if size != numel * _itemsize(dtype):
            raise ImportRefused(
                f"storage {key}: {size} bytes where {numel} x {dtype} needs "
                f"{numel * _itemsize(dtype)} (size mismatch)"
            )
        return st

    pkl = _read_member(zf, root + "data.pkl", None, limits.max_pickle_bytes)
    obj, inert = restricted_loads(pkl, storage, lenient=lenient, deadline=deadline)

    def read(st: Storage) -> torch.Tensor:
        data = _read_member(zf, f"{root}data/{st.key}", st.numel * _itemsize(st.dtype), 0)
        return _tensor_from_bytes(data, st.dtype)

    return RawCheckpoint(obj, "zip", read, inert)


# --------------------------------------------------------------------------------- legacy
def _read_legacy(path: Path, limits: Limits, lenient: bool, deadline: float) -> RawCheckpoint:
    size = path.stat().st_size
    fh = open(path, "rb")  # noqa: SIM115 - kept open by read(); closed with the process
    head = fh.read(limits.max_pickle_bytes + 1)
    buf = io.BytesIO(head)
    magic, _ = load_one(buf, deadline=deadline)
    if magic != LEGACY_MAGIC:
        raise ImportRefused("not a torch.save file (wrong magic number)")
    proto, _ = load_one(buf, deadline=deadline)
    if proto != LEGACY_PROTOCOL:
        raise ImportRefused(f"legacy protocol {proto!r} is not {LEGACY_PROTOCOL}")
    info, _ = load_one(buf, deadline=deadline)
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise ImportRefused("a big-endian legacy file: only little-endian files are read")
    storages = _Storages(limits)
    obj, inert = load_one(buf, storages.get, lenient=lenient, deadline=deadline, legacy=True)
    keys, _ = load_one(buf, deadline=deadline)
    if type(keys) is not list or any(type(k) is not str for k in keys):
        raise ImportRefused("the legacy storage key list is malformed")
    if len(set(keys)) != len(keys) or set(keys) != set(storages.by_key):
        raise ImportRefused("the legacy storage key list does not match the tensors")
    pos = buf.tell()
    if pos >= len(head) and size > len(head):
        raise ImportRefused(f"the object pickle exceeds {limits.max_pickle_bytes} bytes")
    offsets: dict[str, int] = {}
    for key in keys:  # walk the headers: each count must match, the bytes must be there
        st = storages.by_key[key]
        fh.seek(pos)
        raw = fh.read(8)
        if len(raw) != 8:
            raise ImportRefused(f"storage {key}: the file ends before its header")
        (count,) = struct.unpack("<q", raw)
        if count != st.numel:
            raise ImportRefused(
                f"storage {key}: header says {count} elements, its tensors {st.numel} "
                "(size mismatch)"
            )
        offsets[key] = pos + 8
        pos += 8 + st.numel * _itemsize(st.dtype)
        if pos > size:
            raise ImportRefused(f"storage {key}: the file ends inside its bytes (truncated)")
    if pos != size:
        raise ImportRefused(f"{size - pos} unexpected bytes after the last storage")

    def read(st: Storage) -> torch.Tensor:
        fh.seek(offsets[st.key])
        n = st.numel * _itemsize(st.dtype)
        data = fh.read(n)
        if len(data) != n:
            raise ImportRefused(f"storage {st.key}: short read")
        return _tensor_from_bytes(data, st.dtype)

    return RawCheckpoint(obj, "legacy", read, inert)


def read_archive(path: str | Path, limits: Limits, *, lenient: bool = False) -> RawCheckpoint:
    """Unpickle a ``torch.save`` file with the restricted reader.

    Raises:
        ImportRefused: the reason (TorchScript, a global outside the allow-list, a size
            mismatch, a view out of bounds, big-endian, limits...), without the file name
            (the caller adds it).
    """
    p = Path(path)
    size = p.stat().st_size
    if size > limits.max_file_bytes:
        raise ImportRefused(f"{size} bytes exceeds the limit of {limits.max_file_bytes}")
    with open(p, "rb") as fh:
        head = fh.read(512)
    deadline = time.monotonic() + limits.seconds
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return _read_zip(p, limits, lenient, deadline)
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return _read_legacy(p, limits, lenient, deadline)
    if len(head) > 262 and head[257:262] == b"ustar":
        raise ImportRefused("a tar checkpoint (torch < 0.1.10) is not supported")
    if head[:1] in _TEXT_PICKLE_START:
        raise ImportRefused("a protocol 0/1 pickle is not a torch.save file")
    raise ImportRefused("not a torch.save file (neither a zip archive nor a legacy pickle)")
