"""Builders of hostile and damaged ``torch.save``-like files for the importer's tests.

Every file is made here, from scratch: a pickle written by a Pickler whose ``persistent_id``
turns :class:`FakeStorage` into the storage ids torch writes, wrapped in the zip layout
(``<root>/data.pkl``, ``<root>/data/<key>``, ``<root>/byteorder``) or the legacy one.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import torch


class FakeStorage:
    def __init__(self, key: str, numel: int, stype: str = "FloatStorage") -> None:
        self.key, self.numel, self.stype = key, numel, stype


class _Rebuild:
    """Pickles as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
    (``state`` given: followed by BUILD on the tensor)."""

    def __init__(self, storage, offset, size, stride, state=None) -> None:
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())
        self.state = state

    def __reduce__(self):
        from torch._utils import _rebuild_tensor_v2

        if self.state is None:
            return (_rebuild_tensor_v2, self.args)
        return (_rebuild_tensor_v2, self.args, self.state)


class Canary:
    """Creates ``path`` when unpickled by a real unpickler."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def fake_pickle(obj, legacy: bool = False) -> bytes:
    buf = io.BytesIO()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, FakeStorage):
                pid = ("storage", getattr(torch, o.stype), o.key, "cpu", o.numel)
                return pid + (None,) if legacy else pid
            return None

    P(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_zip(
    path: Path,
    pkl: bytes,
    storages: dict[str, bytes],
    *,
    byteorder: bytes = b"little",
    extra: dict[str, bytes] | None = None,
    compress: bool = False,
) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            zf.writestr(f"archive/data/{key}", data)
        zf.writestr("archive/version", b"3\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def write_legacy(path: Path, obj, storages: dict[str, bytes], *, little: bool = True) -> Path:
    out = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, out, protocol=2)
    pickle.dump(1001, out, protocol=2)
    info = {
        "protocol_version": 1001,
        "little_endian": little,
        "type_sizes": {"short": 2, "int": 4, "long": 4},
    }
    pickle.dump(info, out, protocol=2)
    out.write(fake_pickle(obj, legacy=True))
    pickle.dump(sorted(storages), out, protocol=2)
    for key in sorted(storages):
        data = storages[key]
        out.write(struct.pack("<q", len(data) // 4))
        out.write(data)
    path.write_bytes(out.getvalue())
    return path


def floats(n: int) -> bytes:
    return torch.arange(n, dtype=torch.float32).numpy().tobytes()


def tensor_zip(path: Path, offset=0, size=(2, 3), stride=(3, 1), numel=6, nbytes=None, **kw):
    """A one-tensor state dict ``{"w": view}`` in the zip layout."""
    st = FakeStorage("0", numel)
    pkl = fake_pickle(collections.OrderedDict(w=_Rebuild(st, offset, size, stride)))
    data = (
        floats(numel)
        if nbytes is None
        else floats(numel)[:nbytes] + b"\0" * max(0, nbytes - 4 * numel)
    )
    return write_zip(path, pkl, {"0": data}, **kw)


def build_on_tensor(path: Path) -> Path:
    st = FakeStorage("0", 6)
    pkl = fake_pickle({"w": _Rebuild(st, 0, (6,), (1,), state={"__class__": "x"})})
    return write_zip(path, pkl, {"0": floats(6)})


class FakeDictConfig:
    """Renamed ``omegaconf.dictconfig.DictConfig`` by the test that uses it."""

    canary: Path | None = None

    def __init__(self, content) -> None:
        self.content = content

    def __setstate__(self, state) -> None:  # a real unpickler would run this
        if self.canary is not None:
            Path(self.canary).write_text("ran")
        self.__dict__.update(state)
