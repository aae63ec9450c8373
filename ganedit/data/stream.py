"""Streaming: batches decoded by :class:`torch.utils.data.DataLoader` workers.

Used for data that does not fit the device. Workers return the same uint8 crops the resident
store would, for the same keys.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganedit.data.items import Item, Table, stack_items
from ganedit.data.sampling import Key, Order, window

__all__ = ["load_sample", "make_loader"]


def load_sample(
    tables: Sequence[Table], key: Key, crop: tuple[int, int] | None, center: bool
) -> Item:
    """Decode and crop one sample on the CPU: ``{field: (C, h, w) uint8 or 0-d label}``."""
    out: Item = {}
    for t, table in enumerate(tables):
        item = table.load(key.picks[t], crop)
        for k, v in item.items():
            if table.kinds[k] == "label":
                out[k] = v
                continue
            y, x, h, w = window((v.shape[-2], v.shape[-1]), crop, key.seed, t, center)
            out[k] = v[:, y : y + h, x : x + w].contiguous()
    return out


class _Samples(Dataset[Item]):
    """Map-style dataset: a :class:`Key` -> that sample's uint8 crops."""

    def __init__(self, tables: Sequence[Table], crop: tuple[int, int] | None) -> None:
        self.tables, self.crop = list(tables), crop

    def __getitem__(self, key: Key) -> Item:  # type: ignore[override]
        return load_sample(self.tables, key, self.crop, center=False)


class _Keys(Sampler[list[Key]]):
    """Batches of keys from a start position on, forever."""

    def __init__(self, order: Order, batch_size: int, start: tuple[int, int]) -> None:
        self.order, self.batch_size, self.start = order, batch_size, start

    def __iter__(self) -> Iterator[list[Key]]:
        epoch, index = self.start
        while True:
            keys, (epoch, index) = self.order.keys(self.batch_size, epoch, index)
            yield keys

    def __len__(self) -> int:  # pragma: no cover - infinite
        return 2**62


def make_loader(
    tables: Sequence[Table],
    crop: tuple[int, int] | None,
    order: Order,
    batch_size: int,
    start: tuple[int, int],
    workers: int,
    pin: bool,
) -> Iterator[Item]:
    """An endless iterator of uint8 batches (``(N, C, h, w)``; labels ``(N,)``) from ``start``.

    Creating it does not touch the global torch RNG (the DataLoader's base seed is drawn under
    :func:`torch.random.fork_rng`), so an exact resume is not disturbed.
    """
    ctx = "fork" if "fork" in mp.get_all_start_methods() else None
    collate: Callable[[list[Item]], Item] = stack_items
    loader = DataLoader(
        _Samples(tables, crop),
        batch_sampler=_Keys(order.copy(), batch_size, start),
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin,
        prefetch_factor=4 if workers > 0 else None,
        multiprocessing_context=ctx if workers > 0 else None,
    )
    with torch.random.fork_rng(devices=[]):
        return iter(loader)
