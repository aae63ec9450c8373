"""Resident storage: every item decoded once, kept on the device as uint8, cropped per batch.

Per field the store holds one stacked ``(N, C, H, W)`` uint8 tensor when all items share a
size, else a list of ``(C, H, W)`` tensors; labels are one ``(N,)`` int64 tensor.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import torch

from ganedit.data.items import Item, Table, check_crop, stack_items
from ganedit.data.sampling import Key, window

__all__ = ["Store", "decode_all", "default_budget", "gather"]

Store = dict[str, torch.Tensor | list[torch.Tensor]]


def default_budget(device: torch.device) -> int:
    """Bytes the resident data may take: half the free GPU memory, or a quarter of the RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free // 2)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        ram = 8 << 30
    return int(ram // 4)


def _bytes(item: Item) -> int:
    return sum(v.numel() * v.element_size() for v in item.values())


def _decode_table(
    table: Table, crop: tuple[int, int] | None, store: Store, budget: int, pool: ThreadPoolExecutor
) -> int | None:
    """Add ``table`` to ``store`` (CPU); the bytes used, or None when over ``budget``."""
    if table.bulk is not None:
        whole = table.bulk()
        for k in table.pixel_fields():
            check_crop(table.names[0], (whole[k].shape[-2], whole[k].shape[-1]), crop)
        store.update(whole)
        return _bytes(whole) if _bytes(whole) <= budget else None
    used = 0
    lists: dict[str, list[torch.Tensor]] = {k: [] for k in table.fields}
    for item in pool.map(lambda j: table.load(j, crop), range(len(table))):
        used += _bytes(item)
        if used > budget:
            return None
        for k, v in item.items():
            lists[k].append(v)
    for k, vs in lists.items():
        same = len({tuple(v.shape) for v in vs}) == 1
        store[k] = torch.stack(vs) if same else vs
    return used


def decode_all(
    tables: Sequence[Table], crop: tuple[int, int] | None, device: torch.device, budget: int
) -> Store | None:
    """Decode every item of ``tables`` onto ``device``; None (nothing kept) over ``budget`` bytes.

    Raises:
        DatasetError: an item cannot be decoded or is smaller than ``crop``.
    """
    if budget <= 0:
        return None
    store: Store = {}
    with ThreadPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
        for table in tables:
            used = _decode_table(table, crop, store, budget, pool)
            if used is None:
                return None
            budget -= used
    moved: Store = {}
    for k, v in store.items():
        moved[k] = v.to(device) if isinstance(v, torch.Tensor) else [t.to(device) for t in v]
    return moved


def gather(
    store: Store,
    tables: Sequence[Table],
    keys: Sequence[Key],
    crop: tuple[int, int] | None,
    center: bool,
) -> Item:
    """The uint8 batch of ``keys`` from the store (on its device), cropped per sample."""
    out: Item = {}
    for t, table in enumerate(tables):
        idx = [key.picks[t] for key in keys]
        for k in table.fields:
            stored = store[k]
            if isinstance(stored, torch.Tensor) and (crop is None or table.kinds[k] == "label"):
                out[k] = stored[torch.tensor(idx, device=stored.device)]
                continue
            crops = []
            for j, key in zip(idx, keys, strict=True):
                v = stored[j]
                y, x, h, w = window((v.shape[-2], v.shape[-1]), crop, key.seed, t, center)
                crops.append({k: v[:, y : y + h, x : x + w]})
            out.update(stack_items(crops))
    return out
