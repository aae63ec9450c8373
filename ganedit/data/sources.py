"""Builders: training sources -> :class:`~ganedit.data.TrainData`, one per data layout.

A family's ``dataset(data, config)`` gets ``data``: ``{role: [paths]}`` (its ``data_roles``,
e.g. ``{"data": [...]}``, ``{"a": [...], "b": [...]}``, ``{"image": [...], "mask": [...]}``)
and hands the roles to one of these (:func:`role` fetches one, with a clear error).

Every builder takes ``channels`` (1 or 3: files are converted, alpha dropped), ``load_size``
(resize once when decoding: an int is the shorter side, ``(H, W)`` exact; masks nearest) and
the :class:`Options` of :class:`~ganedit.data.TrainData`: ``crop``, ``augment``, ``masks``,
``memory_budget``, ``workers``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypedDict

import numpy as np
import torch
from typing_extensions import Unpack

from ganedit.data.augment import Augment
from ganedit.data.errors import DatasetError
from ganedit.data.files import Paths, as_paths, find_images, match_partners
from ganedit.data.idx import find_idx, read_idx
from ganedit.data.items import FileItem, Kind, SideBySideItem, Table, TensorItem
from ganedit.data.masks import MaskGenerator
from ganedit.data.pixels import Size, resize_u8, to_chw
from ganedit.data.traindata import TrainData

__all__ = [
    "Options",
    "idx_images",
    "image_folder",
    "image_mask",
    "paired_folders",
    "role",
    "side_by_side",
    "tensor_images",
    "unpaired",
]


class _FileMaskOptions(TypedDict, total=False):
    crop: Size | None
    augment: Augment | None
    memory_budget: int | None
    workers: int | None


class Options(_FileMaskOptions, total=False):
    """The :class:`~ganedit.data.TrainData` options every builder passes on (see there).

    ``crop``, ``augment``, ``masks`` (generated), ``memory_budget``, ``workers``.
    """

    masks: MaskGenerator | None


def role(data: Mapping[str, Sequence[str | Path]], name: str) -> list[Path]:
    """The paths of role ``name`` in a family's ``data`` table.

    Raises:
        DatasetError: the role is missing or empty (the message lists the roles given).
    """
    paths = data.get(name)
    if not paths:
        given = ", ".join(sorted(data)) or "none"
        raise DatasetError(f"data for role {name!r} is missing (roles given: {given})")
    return as_paths(paths)


def _file_table(
    found: Sequence[Mapping[str, Path]], kinds: dict[str, Kind], channels: int, load: Size | None
) -> Table:
    loaders = [FileItem(dict(f), kinds, channels, load) for f in found]
    return Table(kinds, loaders, [str(next(iter(f.values()))) for f in found])


def _folder_table(paths: Paths, field: str, channels: int, load: Size | None) -> Table:
    """Every image under ``paths`` (walked recursively) as the one image field ``field``."""
    found = [{field: path} for path, _ in find_images(paths)]
    return _file_table(found, {field: "image"}, channels, load)


def _partner_table(
    a: Paths, b: Paths, kinds: dict[str, Kind], channels: int, load: Size | None
) -> Table:
    """Files of ``a`` and ``b`` matched by relative path and name (suffix ignored), as the two
    fields of ``kinds`` in order (:func:`~ganedit.data.files.match_partners` names any file
    without a partner)."""
    first, second = kinds
    found = [{first: pa, second: pb} for pa, pb in match_partners(a, b)]
    return _file_table(found, kinds, channels, load)


def image_folder(
    paths: Paths, *, channels: int = 3, load_size: Size | None = None, **options: Unpack[Options]
) -> TrainData:
    """Every image under ``paths`` as ``batch["image"]`` ``(N, channels, H, W)``.

    Folders are walked recursively, files taken as given. A folder holding idx files, or an
    idx file itself, is read with :func:`idx_images` (``batch["label"]`` included when the labels
    file is beside it). With ``masks=MaskGenerator(...)`` the batch also has ``batch["mask"]``.

    Raises:
        DatasetError: a path is missing, a folder holds no image; names it.
    """
    plist = as_paths(paths)
    if len(plist) == 1:
        p = plist[0]
        idx = find_idx(p) if p.is_dir() else ((p, None) if "idx" in p.name else None)
        if idx is not None:
            return idx_images(idx[0], idx[1], channels=channels, load_size=load_size, **options)
    table = _folder_table(plist, "image", channels, load_size)
    return TrainData([table], channels=channels, **options)


def _tensor_bulk(
    arr: np.ndarray, labels: torch.Tensor | None, ch: int, load: Size | None
) -> Callable[[], dict[str, torch.Tensor]]:
    """All items of an in-memory array at once, in chunks: ``(N, ch, H, W)`` uint8."""

    def bulk() -> dict[str, torch.Tensor]:
        chunks = []
        for i in range(0, arr.shape[0], 2048):
            part = arr[i : i + 2048]
            if part.dtype == np.uint8 and part.shape[3] == ch:
                x = torch.from_numpy(np.ascontiguousarray(part)).permute(0, 3, 1, 2)
            else:
                x = torch.stack([to_chw(a, ch, f"image {i + j}") for j, a in enumerate(part)])
            chunks.append(resize_u8(x, load).contiguous())
        out = {"image": torch.cat(chunks)}
        if labels is not None:
            out["label"] = labels
        return out

    return bulk


def tensor_images(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | None = None,
    *,
    channels: int | None = None,
    load_size: Size | None = None,
    **options: Unpack[Options],
) -> TrainData:
    """Images already in memory as ``batch["image"]`` (and ``batch["label"]``).

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)`` uint8/uint16 (HWC, as
            :func:`ganedit.io.read_image` gives; C in 1..4, alpha dropped).
        labels: optional ``(N,)`` integer class labels -> ``batch["label"]`` ``(N,)`` int64.
        channels: 1 or 3 (default: 1 for one-channel arrays, else 3).
        load_size: resize once (an int: the shorter side; ``(H, W)``: exact).
        **options: :class:`Options`.
    """
    arr = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    arr = arr[..., None] if arr.ndim == 3 else arr
    if arr.ndim != 4 or arr.shape[0] == 0:
        raise DatasetError(f"expected (N, H, W[, C]) images, got shape {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"in-memory images: unsupported pixel type {arr.dtype}")
    ch = channels or (1 if arr.shape[3] == 1 else 3)
    lab = None if labels is None else torch.as_tensor(np.asarray(labels)).long()
    if lab is not None and lab.shape != (arr.shape[0],):
        raise DatasetError(f"{tuple(lab.shape)} labels for {arr.shape[0]} images")
    kinds: dict[str, Kind] = (
        {"image": "image"} if lab is None else {"image": "image", "label": "label"}
    )
    loaders = [TensorItem(arr, lab, j, ch, load_size) for j in range(arr.shape[0])]
    names = [f"image {j}" for j in range(arr.shape[0])]
    table = Table(kinds, loaders, names, _tensor_bulk(arr, lab, ch, load_size))
    return TrainData([table], channels=ch, **options)


def idx_images(
    images_file: str | Path,
    labels_file: str | Path | None = None,
    *,
    channels: int = 1,
    load_size: Size | None = None,
    **options: Unpack[Options],
) -> TrainData:
    """Fashion-MNIST / MNIST idx files (``.gz`` or not) as training images.

    Gives ``batch["image"]`` ``(N, channels, H, W)`` and, with ``labels_file``,
    ``batch["label"]`` ``(N,)`` int64.

    Raises:
        DatasetError: a bad idx file, images not ``(N, H, W)``, a label count that differs.
    """
    imgs = read_idx(images_file)
    if imgs.ndim != 3 or imgs.dtype != np.uint8:
        raise DatasetError(f"{images_file}: expected (N, H, W) uint8 images, found {imgs.shape}")
    labels = read_idx(labels_file) if labels_file is not None else None
    if labels is not None and labels.shape[:1] != imgs.shape[:1]:
        raise DatasetError(f"{labels_file}: {labels.shape[0]} labels for {imgs.shape[0]} images")
    return tensor_images(imgs, labels, channels=channels, load_size=load_size, **options)


def paired_folders(
    a: Paths,
    b: Paths,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **options: Unpack[Options],
) -> TrainData:
    """Aligned pairs: ``batch["input"]`` from ``a``, ``batch["target"]`` from ``b``.

    Both ``(N, channels, H, W)``, cropped and augmented together (one draw per pair).

    Files are matched by relative path and name, suffix ignored (``a/x.png`` - ``b/x.jpg``).

    Raises:
        DatasetError: a side is missing or empty (names the folder); a file without a partner
            (names it and the folder searched); an unreadable file (names it).
    """
    table = _partner_table(a, b, {"input": "image", "target": "image"}, channels, load_size)
    return TrainData([table], channels=channels, **options)


def side_by_side(
    paths: Paths,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    direction: str = "AtoB",
    **options: Unpack[Options],
) -> TrainData:
    """pix2pix layout: each image is ``A | B`` (two equal halves side by side).

    ``direction="AtoB"``: ``batch["input"]`` is the left half A and ``batch["target"]`` the
    right half B; ``"BtoA"`` swaps them. ``load_size`` applies to each half.

    Raises:
        DatasetError: an image of odd width (or narrower than 2) or smaller than the crop;
            names the file.
    """
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
    files = [p for p, _ in find_images(paths)]
    loaders = [SideBySideItem(p, channels, load_size, direction == "BtoA") for p in files]
    table = Table({"input": "image", "target": "image"}, loaders, [str(p) for p in files])
    return TrainData([table], channels=channels, **options)


def unpaired(
    a: Paths,
    b: Paths,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **options: Unpack[Options],
) -> TrainData:
    """Two unpaired domains (CycleGAN): ``batch["a"]`` and ``batch["b"]``, ``(N, C, H, W)``.

    Each domain is shuffled on its own, a new permutation every epoch. An epoch is
    ``max(len(a), len(b))`` samples; the shorter domain wraps into a fresh permutation, so
    every image of both domains is seen at least once per epoch. The domains are cropped and
    augmented independently (separate random draws).
    """
    tables = [
        _folder_table(a, "a", channels, load_size),
        _folder_table(b, "b", channels, load_size),
    ]
    return TrainData(tables, channels=channels, **options)


def image_mask(
    images: Paths,
    masks: Paths,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **options: Unpack[_FileMaskOptions],
) -> TrainData:
    """Images with mask files: ``batch["image"]`` and ``batch["mask"]``.

    ``image`` is ``(N, channels, H, W)``; ``mask`` is ``(N, 1, H, W)`` float32, 1.0 = fill,
    cropped and augmented jointly with the image.

    Mask files follow :func:`ganedit.io.mask_from_pixels` (fill where any colour channel is
    brighter than half the range; alpha ignored) and are matched to images by relative path
    and name, suffix ignored. For generated masks use ``image_folder(..., masks=...)``.

    Raises:
        DatasetError: as :func:`paired_folders`.
    """
    table = _partner_table(images, masks, {"image": "image", "mask": "mask"}, channels, load_size)
    return TrainData([table], channels=channels, **options)
