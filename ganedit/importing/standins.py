"""Local stand-ins that the restricted unpickler returns for the few globals a weights
file may name: storage types, storages, tensors (as bounds-checked references, read later),
``OrderedDict`` and the placeholders of lenient mode. Nothing here calls anything of the file.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import torch

from ganedit.weights import WeightsError

__all__ = [
    "ALLOWED",
    "CALLABLE",
    "MAX_VIEW_ELEMENTS",
    "STORAGE_DTYPES",
    "ImportRefused",
    "Inert",
    "InertGlobal",
    "OrderedDictStandIn",
    "Storage",
    "StorageType",
    "TensorRef",
]


class ImportRefused(WeightsError):
    """A checkpoint the importer will not read (hostile, damaged or unsupported); the message
    names the file and the reason."""


_MAX_DIMS = 16
#: The most elements one tensor may have (a stride-0 view could otherwise ask for more
#: memory than its storage by any factor).
MAX_VIEW_ELEMENTS = 1 << 33

#: ``torch.<name>`` storage types and the dtype of their elements.
STORAGE_DTYPES: dict[str, torch.dtype] = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
}


class StorageType:
    """Stand-in for ``torch.FloatStorage`` and its kin: a name and a dtype, not callable."""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str, dtype: torch.dtype) -> None:
        self.name = name
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class Storage:
    """One storage of the file: its key, dtype and element count; ``data`` is a 1-D tensor
    (``numel`` elements of ``dtype``) filled by the archive reader when first needed."""

    __slots__ = ("data", "dtype", "key", "numel")

    def __init__(self, key: str, dtype: torch.dtype, numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.data: torch.Tensor | None = None


class TensorRef:
    """A tensor of the file, not yet read: a bounds-checked view of a :class:`Storage`."""

    __slots__ = ("offset", "size", "storage", "stride")

    def __init__(
        self, storage: Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride

    @property
    def numel(self) -> int:
        """Elements of the view."""
        n = 1
        for s in self.size:
            n *= s
        return n

    def materialize(self, read: Callable[[Storage], torch.Tensor]) -> torch.Tensor:
        """The tensor (CPU, its own contiguous memory), reading its storage with ``read``."""
        if self.storage.data is None:
            self.storage.data = read(self.storage)
        flat = self.storage.data
        return flat.as_strided(self.size, self.stride, self.offset).clone()

    def __repr__(self) -> str:
        return f"TensorRef({self.storage.dtype}, size={self.size})"


class OrderedDictStandIn(collections.OrderedDict):
    """Stand-in for ``collections.OrderedDict``: BUILD state is kept, never applied."""

    pickled_state: Any = None


class InertGlobal:
    """A global the lenient reader does not know (e.g. ``omegaconf.dictconfig.DictConfig``):
    calling it through the pickle makes an :class:`Inert`; it is never resolved or called."""

    __slots__ = ("qualname",)

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<inert {self.qualname}>"


class Inert:
    """An object of an unknown class: its arguments, items and state, recorded and unused."""

    def __init__(self, qualname: str, args: tuple) -> None:
        self.qualname = qualname
        self.args = args
        self.items: dict[Any, Any] = {}
        self.list: list[Any] = []
        self.state: Any = None

    def __repr__(self) -> str:
        return f"<inert {self.qualname} object>"


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise ImportRefused(f"{what} must be an int, got {type(value).__name__}")
    return value


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if type(value) is not tuple or len(value) > _MAX_DIMS:
        raise ImportRefused(f"{what} must be a tuple of at most {_MAX_DIMS} ints")
    return tuple(_int(v, what) for v in value)


def _empty_hooks(hooks: Any) -> None:
    if not isinstance(hooks, dict) or len(hooks):
        raise ImportRefused("tensor backward hooks are not allowed in a weights file")


def rebuild_tensor_v2(
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    hooks: Any = None,
    metadata: Any = None,
) -> TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: validates and returns a
    :class:`TensorRef` (negative offsets or strides and views past the storage's end are
    refused)."""
    if not isinstance(storage, Storage):
        raise ImportRefused("a tensor must be built on a storage of the file")
    off = _int(offset, "storage offset")
    shape = _int_tuple(size, "tensor size")
    steps = _int_tuple(stride, "tensor stride")
    if len(shape) != len(steps):
        raise ImportRefused(f"tensor size {shape} and stride {steps} differ in length")
    if off < 0 or any(s < 0 for s in shape) or any(s < 0 for s in steps):
        raise ImportRefused(f"negative tensor offset/size/stride ({off}, {shape}, {steps})")
    if type(requires_grad) is not bool:
        raise ImportRefused("requires_grad must be a bool")
    if hooks is not None:
        _empty_hooks(hooks)
    if metadata is not None and (not isinstance(metadata, dict) or metadata):
        raise ImportRefused("tensor metadata (conj/neg bits, python attributes) is not supported")
    ref = TensorRef(storage, off, shape, steps)
    if ref.numel > MAX_VIEW_ELEMENTS:
        raise ImportRefused(f"a tensor view of {ref.numel} elements exceeds the limit")
    if ref.numel:
        last = off + sum((n - 1) * s for n, s in zip(shape, steps, strict=False))
        if last >= storage.numel:
            raise ImportRefused(
                f"tensor view out of bounds: offset {off}, size {shape}, stride {steps} "
                f"reaches element {last} of a storage of {storage.numel}"
            )
    elif off > storage.numel:
        raise ImportRefused(f"tensor offset {off} is past its storage of {storage.numel}")
    return ref


def rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> TensorRef:
    """Stand-in for the old ``torch._utils._rebuild_tensor``."""
    return rebuild_tensor_v2(storage, offset, size, stride)


def rebuild_parameter(data: Any, requires_grad: Any, hooks: Any, state: Any = None) -> TensorRef:
    """Stand-in for ``torch._utils._rebuild_parameter[_with_state]``: the parameter's data."""
    if not isinstance(data, TensorRef):
        raise ImportRefused("a parameter must wrap a tensor of the file")
    _empty_hooks(hooks)
    return data


#: ``(module, name)`` -> the local stand-in returned for it.
ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDictStandIn,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
    **{("torch", n): StorageType(n, d) for n, d in STORAGE_DTYPES.items()},
}
CALLABLE = {id(v): v for v in ALLOWED.values() if not isinstance(v, StorageType)}
