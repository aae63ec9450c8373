"""A restricted unpickler for ``torch.save`` files: nothing of the file's is ever called.

:class:`RestrictedUnpickler` is Python's pure-Python unpickler with a closed table of opcodes:

* globals (``GLOBAL``, ``STACK_GLOBAL``) resolve only to local stand-ins from :data:`ALLOWED`
  (``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` /
  ``_rebuild_parameter`` / ``_rebuild_parameter_with_state`` and the ``torch.<X>Storage``
  types); with ``lenient=True`` a global under one of :data:`LENIENT_PREFIXES` (OmegaConf,
  Lightning, ``typing``, ``pathlib``...) or in :data:`LENIENT_NAMES` (``builtins.dict`` and
  other type objects, ``_codecs.encode``) becomes an :class:`Inert` placeholder that records its
  arguments and is never called. Anything else (``os.system``, ``builtins.eval``...) is refused;
* ``REDUCE`` calls only those stand-ins; ``NEWOBJ`` / ``NEWOBJ_EX`` only build placeholders;
  ``BUILD`` is allowed on an ``OrderedDict`` (its ``_metadata``) and a placeholder, never on a
  tensor; ``SETITEM(S)`` only on dicts and placeholders, ``APPEND(S)`` only on lists,
  ``ADDITEMS`` only on sets; ``INST``, ``OBJ``, ``EXT*``, out-of-band buffers refused;
* persistent ids must be ``('storage', <StorageType>, key, location, numel)`` (a sixth ``None``
  in the legacy layout); the storage itself is fetched through a callback that checks its size;
* tensors are :class:`TensorRef` records (storage, offset, size, stride), bounds-checked here
  and turned into tensors only later (:meth:`TensorRef.materialize`);
* a time limit and an opcode budget bound the work.

Every refusal is an :class:`ImportRefused` naming the reason.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from ganedit.importing.standins import (
    ALLOWED,
    CALLABLE,
    ImportRefused,
    Inert,
    InertGlobal,
    OrderedDictStandIn,
    Storage,
    StorageType,
    TensorRef,
)

__all__ = [
    "ALLOWED",
    "LENIENT_NAMES",
    "LENIENT_PREFIXES",
    "ImportRefused",
    "Inert",
    "RestrictedUnpickler",
    "Storage",
    "StorageType",
    "TensorRef",
    "restricted_loads",
]


#: Module prefixes whose globals become inert placeholders with ``lenient=True`` (the extra
#: objects of Lightning checkpoints: hyper-parameters, callbacks, loop state).
LENIENT_PREFIXES: tuple[str, ...] = (
    "omegaconf",
    "pytorch_lightning",
    "lightning",
    "lightning_fabric",
    "torchmetrics",
    "typing",
    "pathlib",
    "argparse",
    "numpy",
    "collections",
    "torch.torch_version",
)

#: Single globals that also become placeholders with ``lenient=True``: the type objects that
#: OmegaConf's metadata names, and the helpers numpy scalars are pickled with. As placeholders
#: they are never called, like everything else in lenient mode.
LENIENT_NAMES: frozenset[tuple[str, str]] = frozenset(
    [("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "int", "float",
                               "str", "bool", "bytes", "object", "complex")]
    + [("_codecs", "encode"), ("torch", "device"), ("torch", "Size")]
)  # fmt: skip
_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_LOCATION_RE = re.compile(r"^(cpu|cuda(:[0-9]{1,3})?)$")


#: Opcode handlers of Python's unpickler that build only plain data (no lookups, no calls).
_SAFE_OPS = {
    "load_binbytes", "load_binbytes8", "load_binfloat", "load_binget", "load_binint",
    "load_binint1", "load_binint2", "load_binput", "load_binstring", "load_binunicode",
    "load_binunicode8", "load_bytearray8", "load_dict", "load_dup", "load_empty_dictionary",
    "load_empty_list", "load_empty_set", "load_empty_tuple", "load_false", "load_float",
    "load_frame", "load_frozenset", "load_get", "load_int", "load_list", "load_long",
    "load_long1", "load_long4", "load_long_binget", "load_long_binput", "load_mark",
    "load_memoize", "load_none", "load_pop", "load_pop_mark", "load_proto", "load_put",
    "load_short_binbytes", "load_short_binstring", "load_short_binunicode", "load_stop",
    "load_string", "load_true", "load_tuple", "load_tuple1", "load_tuple2", "load_tuple3",
    "load_unicode", "load_global", "load_stack_global", "load_binpersid", "load_persid",
}  # fmt: skip


def _refuse_op(name: str) -> Callable[[RestrictedUnpickler], None]:
    def refuse(self: RestrictedUnpickler) -> None:
        raise ImportRefused(f"pickle opcode {name} is not allowed in a weights file")

    return refuse


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Python's unpickler with a closed opcode table (see the module docstring).

    Args:
        file: a binary file positioned at the pickle.
        persistent_load: ``pid -> Storage``; gets only ids that passed :meth:`check_pid`.
        lenient: make placeholders of globals under :data:`LENIENT_PREFIXES`.
        deadline: ``time.monotonic()`` value after which the load is refused.
        legacy: persistent ids carry the legacy sixth field (view metadata, must be None).
    """

    dispatch: ClassVar[dict[int, Callable[..., None]]] = {}
    stack: list[Any]  # the base class's, for the type checker
    proto: int  # the base class's: the pickle protocol, set by load() and the PROTO opcode
    pop_mark: Callable[[], list[Any]]

    def __init__(
        self,
        file: io.BufferedIOBase | io.BytesIO,
        persistent_load: Callable[[str, torch.dtype, int], Storage] | None,
        *,
        lenient: bool = False,
        deadline: float | None = None,
        legacy: bool = False,
    ) -> None:
        super().__init__(file, encoding="utf-8")
        self._storage = persistent_load
        self._lenient = lenient
        self._deadline = deadline
        self._legacy = legacy
        self._ops = 0
        self.inert: set[str] = set()

    # ---------------------------------------------------------------------- lookups, calls
    def find_class(self, module: str, name: str) -> Any:
        """The stand-in for ``module.name``, a placeholder (lenient), or a refusal.

        Python 2 names of protocol 0-2 pickles (``__builtin__.long``) are mapped to Python 3's
        first, as the standard unpickler does; the allow-lists are then checked exactly.
        """
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        found = ALLOWED.get((module, name))
        if found is not None:
            return found
        qual = f"{module}.{name}"
        known = (module, name) in LENIENT_NAMES or any(
            module == p or module.startswith(p + ".") for p in LENIENT_PREFIXES
        )
        if self._lenient and known:
            self.inert.add(qual)
            return InertGlobal(qual)
        hint = " (a Lightning/OmegaConf object: --lenient reads only the tensors)" if known else ""
        raise ImportRefused(f"global {qual} is not allowed in a weights file{hint}")

    def persistent_load(self, pid: Any) -> Any:
        """Check ``('storage', StorageType, key, location, numel[, None])`` and fetch it."""
        want = 6 if self._legacy else 5
        if type(pid) is not tuple or len(pid) != want or pid[0] != "storage":
            raise ImportRefused(f"persistent id {pid!r:.80} is not a storage reference")
        _, stype, key, location, numel = pid[:5]
        if not isinstance(stype, StorageType):
            raise ImportRefused(f"storage type {stype!r:.60} is not an allowed storage type")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ImportRefused(f"storage key {key!r:.60} is malformed")
        if not isinstance(location, str) or not _LOCATION_RE.match(location):
            raise ImportRefused(f"storage location {location!r:.60} is not cpu or cuda")
        if type(numel) is not int or numel < 0:
            raise ImportRefused(f"negative storage size {numel}")
        if self._legacy and pid[5] is not None:
            raise ImportRefused("legacy storage views (torch < 0.4 files) are not supported")
        if self._storage is None:
            raise ImportRefused("this pickle may not reference storages")
        return self._storage(key, stype.dtype, numel)

    def _call(self, func: Any, args: Any) -> Any:
        if type(args) is not tuple:
            raise ImportRefused("REDUCE arguments must be a tuple")
        if isinstance(func, InertGlobal):
            return Inert(func.qualname, args)
        if CALLABLE.get(id(func)) is not func:
            raise ImportRefused(f"REDUCE on {type(func).__name__} is not allowed")
        if func is OrderedDictStandIn:
            if args:
                raise ImportRefused("OrderedDict must be rebuilt empty")
            return OrderedDictStandIn()
        call: Callable[..., Any] = func  # type: ignore[assignment]  # checked above
        try:
            return call(*args)
        except TypeError as exc:
            raise ImportRefused(f"bad arguments for a tensor: {exc}") from None

    # ---------------------------------------------------------------------- opcodes
    def _tick(self) -> None:
        self._ops += 1
        if self._ops & 1023 == 0 and self._deadline is not None:
            if time.monotonic() > self._deadline:
                raise ImportRefused("reading the pickle took longer than the time limit")

    def _reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args)

    def _newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack[-1]
        if not isinstance(cls, InertGlobal) or type(args) is not tuple:
            raise ImportRefused(f"NEWOBJ of {type(cls).__name__} is not allowed")
        self.stack[-1] = Inert(cls.qualname, args)

    def _newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack[-1]
        if not isinstance(cls, InertGlobal) or type(args) is not tuple:
            raise ImportRefused(f"NEWOBJ_EX of {type(cls).__name__} is not allowed")
        self.stack[-1] = Inert(cls.qualname, args + (kwargs,))

    def _build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, (OrderedDictStandIn, Inert)):
            if isinstance(target, Inert):
                target.state = state
            else:
                target.pickled_state = state
            return
        what = "a tensor" if isinstance(target, TensorRef) else type(target).__name__
        raise ImportRefused(f"BUILD on {what} is not allowed")

    def _setitems(self, items: list[Any]) -> None:
        target = self.stack[-1]
        if isinstance(target, Inert):
            target = target.items
        if not isinstance(target, dict):
            raise ImportRefused(f"SETITEM on {type(target).__name__} is not allowed")
        if len(items) % 2:
            raise ImportRefused("SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._setitems([key, value])

    def _setitems_op(self) -> None:
        self._setitems(self.pop_mark())

    def _appends(self, items: list[Any]) -> None:
        target = self.stack[-1]
        if isinstance(target, Inert):
            target = target.list
        if type(target) is not list:
            raise ImportRefused(f"APPEND on {type(target).__name__} is not allowed")
        target.extend(items)

    def _append(self) -> None:
        value = self.stack.pop()
        self._appends([value])

    def _appends_op(self) -> None:
        self._appends(self.pop_mark())

    def _additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is not set:
            raise ImportRefused(f"ADDITEMS on {type(target).__name__} is not allowed")
        target.update(items)


def _table() -> dict[int, Callable[..., None]]:
    base = pickle._Unpickler.dispatch  # type: ignore[attr-defined]
    own = {
        "load_reduce": RestrictedUnpickler._reduce,
        "load_newobj": RestrictedUnpickler._newobj,
        "load_newobj_ex": RestrictedUnpickler._newobj_ex,
        "load_build": RestrictedUnpickler._build,
        "load_setitem": RestrictedUnpickler._setitem,
        "load_setitems": RestrictedUnpickler._setitems_op,
        "load_append": RestrictedUnpickler._append,
        "load_appends": RestrictedUnpickler._appends_op,
        "load_additems": RestrictedUnpickler._additems,
    }
    table: dict[int, Callable[..., None]] = {}
    for code, fn in base.items():
        name = fn.__name__
        handler = own.get(name) or (fn if name in _SAFE_OPS else _refuse_op(name[5:].upper()))

        def op(self: RestrictedUnpickler, _h: Callable[..., None] = handler) -> None:
            self._tick()
            _h(self)

        table[code] = op
    return table


RestrictedUnpickler.dispatch = _table()


def restricted_loads(
    data: bytes,
    persistent_load: Callable[[str, torch.dtype, int], Storage] | None = None,
    *,
    lenient: bool = False,
    deadline: float | None = None,
    legacy: bool = False,
) -> tuple[Any, set[str]]:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    Returns:
        ``(object, inert)``: the object (dicts, lists, :class:`TensorRef`, ...) and the
        qualified names of the globals that became placeholders.

    Raises:
        ImportRefused: anything outside the allow-list, a malformed pickle, trailing bytes.
    """
    buf = io.BytesIO(data)
    obj, inert = load_one(buf, persistent_load, lenient=lenient, deadline=deadline, legacy=legacy)
    if buf.read(1):
        raise ImportRefused("bytes after the end of the pickle")
    return obj, inert


def load_one(
    buf: io.BufferedIOBase | io.BytesIO,
    persistent_load: Callable[[str, torch.dtype, int], Storage] | None = None,
    *,
    lenient: bool = False,
    deadline: float | None = None,
    legacy: bool = False,
) -> tuple[Any, set[str]]:
    """Unpickle one pickle from ``buf`` (left just after its STOP); see
    :func:`restricted_loads`."""
    up = RestrictedUnpickler(
        buf, persistent_load, lenient=lenient, deadline=deadline, legacy=legacy
    )
    try:
        return up.load(), up.inert
    except ImportRefused:
        raise
    except RecursionError:
        raise ImportRefused("the pickle nests too deeply") from None
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ImportRefused(f"malformed pickle ({type(exc).__name__}: {exc})") from None
    except (TypeError, AttributeError, MemoryError, OverflowError) as exc:
        raise ImportRefused(f"malformed pickle ({type(exc).__name__}: {exc})") from None
