"""Items: how one training sample is decoded, and tables of items that share a geometry.

A :class:`Table` is a list of items whose image fields are cropped and augmented together
(``input``/``target`` of a pair, ``image``/``mask``). Unpaired domains are separate tables.
Each item loader returns ``{field: tensor}``: images ``(C, H, W)`` uint8 in ``[0, 255]``, masks
``(1, H, W)`` uint8 in ``{0, 255}`` (255 = fill), labels a 0-d int64 tensor; all on the CPU.
Loaders are small picklable objects, so DataLoader workers can run them under any start method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ganedit.data.errors import DatasetError
from ganedit.data.pixels import Size, mask_to_chw, resize_u8, to_chw

__all__ = ["FileItem", "Kind", "SideBySideItem", "Table", "TensorItem", "check_crop", "stack_items"]

#: What a field holds: an image, a binary mask (1 = fill) or an integer label.
Kind = Literal["image", "mask", "label"]
Item = dict[str, torch.Tensor]


def _read(path: Path) -> np.ndarray:
    from ganedit.io import ImageReadError, read_image

    try:
        return read_image(path)
    except ImageReadError as exc:
        raise DatasetError(str(exc)) from None


def _read_mask(path: Path) -> np.ndarray:
    from ganedit.io import ImageReadError, read_mask

    try:
        return read_mask(path)
    except ImageReadError as exc:
        raise DatasetError(str(exc)) from None


@dataclass(frozen=True)
class FileItem:
    """One sample from files: ``{field: file}``, each decoded and resized to ``load_size``.

    Masks are read with :func:`ganedit.io.read_mask` (bright = fill, alpha ignored).
    """

    files: Mapping[str, Path]
    kinds: Mapping[str, Kind]
    channels: int
    load_size: Size | None

    def __call__(self) -> Item:
        """Decode the files: ``{field: (C, H, W) uint8}`` (masks ``(1, H, W)`` in {0, 255})."""
        out: Item = {}
        for key, path in self.files.items():
            if self.kinds[key] == "mask":
                t = resize_u8(mask_to_chw(_read_mask(path)), self.load_size, mask=True)
            else:
                t = resize_u8(to_chw(_read(path), self.channels, str(path)), self.load_size)
            out[key] = t
        return out


@dataclass(frozen=True)
class SideBySideItem:
    """One ``A|B`` image (pix2pix layout) split into ``input`` and ``target`` halves."""

    path: Path
    channels: int
    load_size: Size | None
    swap: bool = False

    def __call__(self) -> Item:
        """Decode and split: ``{"input": (C, H, W/2) uint8, "target": (C, H, W/2) uint8}``."""
        t = to_chw(_read(self.path), self.channels, str(self.path))
        h, w = t.shape[-2:]
        if w % 2 or w < 2:
            raise DatasetError(
                f"{self.path}: a side-by-side A|B image needs an even width of at least 2, "
                f"got {w}x{h}"
            )
        left, right = t[..., : w // 2].contiguous(), t[..., w // 2 :].contiguous()
        if self.swap:
            left, right = right, left
        return {
            "input": resize_u8(left, self.load_size),
            "target": resize_u8(right, self.load_size),
        }


@dataclass(frozen=True, eq=False)
class TensorItem:
    """Item ``index`` of an in-memory ``(N, H, W, C)`` uint8/uint16 array (and labels)."""

    images: np.ndarray
    labels: torch.Tensor | None
    index: int
    channels: int
    load_size: Size | None

    def __call__(self) -> Item:
        """``{"image": (C, H, W) uint8}``, plus ``{"label": 0-d int64}`` when labelled."""
        img = to_chw(self.images[self.index], self.channels, f"image {self.index}")
        out = {"image": resize_u8(img, self.load_size)}
        if self.labels is not None:
            out["label"] = self.labels[self.index]
        return out


@dataclass
class Table:
    """Items that share one geometry (cropped, flipped and resized together).

    Attributes:
        kinds: ``{field: kind}`` of every field an item returns, in batch order.
        loaders: one callable per item, returning that item's ``{field: tensor}``.
        names: one name per item (its file), used in error messages.
        bulk: optional: all items at once as stacked tensors (``(N, C, H, W)`` uint8, labels
            ``(N,)`` int64), a fast path for in-memory sources.
    """

    kinds: dict[str, Kind]
    loaders: Sequence[Callable[[], Item]]
    names: Sequence[str]
    bulk: Callable[[], Item] | None = field(default=None)

    def __len__(self) -> int:
        """The number of items."""
        return len(self.loaders)

    @property
    def fields(self) -> tuple[str, ...]:
        """The batch keys this table gives."""
        return tuple(self.kinds)

    def pixel_fields(self) -> tuple[str, ...]:
        """The image and mask fields (everything that is cropped and augmented)."""
        return tuple(k for k, v in self.kinds.items() if v != "label")

    def load(self, j: int, crop: tuple[int, int] | None) -> Item:
        """Decode item ``j`` and check it: its fields share a size, at least ``crop``.

        Raises:
            DatasetError: the fields differ in size or are smaller than ``crop``; names the file.
        """
        out = self.loaders[j]()
        shapes = {tuple(out[k].shape[-2:]) for k in self.pixel_fields()}
        if len(shapes) > 1:
            raise DatasetError(f"{self.names[j]}: paired images differ in size {sorted(shapes)}")
        for hw in shapes:
            check_crop(self.names[j], (int(hw[0]), int(hw[1])), crop)
        return out


def check_crop(name: str, hw: tuple[int, int], crop: tuple[int, int] | None) -> None:
    """Raise :class:`DatasetError` naming ``name`` when ``hw`` is smaller than ``crop``."""
    if crop is not None and (hw[0] < crop[0] or hw[1] < crop[1]):
        raise DatasetError(
            f"{name}: {hw[1]}x{hw[0]} is smaller than the crop {crop[1]}x{crop[0]} (set load_size)"
        )


def stack_items(items: Sequence[Item]) -> Item:
    """Stack per-sample tensors into a batch: ``(N, C, H, W)`` pixels, ``(N,)`` labels.

    Raises:
        DatasetError: samples of one field differ in size (no ``crop`` and mixed image sizes).
    """
    out: Item = {}
    for k in items[0]:
        parts = [it[k] for it in items]
        if len({tuple(p.shape) for p in parts}) > 1:
            raise DatasetError(
                f"training images differ in size ({k}): set crop or load_size=(H, W)"
            )
        out[k] = torch.stack(parts)
    return out
