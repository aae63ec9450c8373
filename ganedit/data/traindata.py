"""TrainData: the object a family's ``dataset()`` returns and the engine draws batches from.

Lifecycle: a builder (:func:`ganedit.data.image_folder` and friends) makes it; the engine calls
:meth:`TrainData.setup` (device, rank, world size, seed), then :meth:`TrainData.next_batch` per
step, :meth:`TrainData.preview` once for fixed sample-grid inputs, and saves/restores
:meth:`TrainData.state_dict` (the data position) with each checkpoint for an exact resume.

Per batch: uint8 crops (resident on the device, or streamed) -> float32 in ``[0, 1]`` -> the
augmentation (one call per group of aligned fields) -> generated masks, if any. See
:mod:`ganedit.data.sampling` for the order and :mod:`ganedit.data.store` for the storage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence

import torch

from ganedit.data.augment import Augment
from ganedit.data.errors import DatasetError
from ganedit.data.items import Item, Table, stack_items
from ganedit.data.masks import MaskGenerator
from ganedit.data.pixels import Size, pair
from ganedit.data.sampling import Key, Order, sample_seed
from ganedit.data.store import Store, decode_all, default_budget, gather
from ganedit.data.stream import load_sample, make_loader

__all__ = ["TrainData"]

_MASK_SALT = 0x6D61736B  # separates the generated-mask stream from the crop windows


class TrainData:
    """Training batches from tables of items (build it with a :mod:`ganedit.data` builder).

    Args:
        tables: groups of aligned fields (one for a folder or a pair; two for unpaired domains).
        channels: colour channels of the image fields (1 or 3).
        crop: a random ``(H, W)`` window (an int: a square) taken from the uint8 data, the same
            for all fields of a table, centred in :meth:`preview`. A slice: no interpolation.
        augment: ``augment(fields, train) -> fields`` on float batches on the device, e.g. a
            :class:`~ganedit.data.JointAugment`; called once per table; None: no augmentation.
        masks: a :class:`~ganedit.data.MaskGenerator`: adds ``batch["mask"]``, ``(N, 1, H, W)``
            at the size of the first table's images after augmentation.
        memory_budget: bytes the decoded uint8 data may take on the device (default: half the
            free GPU memory on CUDA, a quarter of the RAM on the CPU); over it: streaming.
        workers: DataLoader worker processes when streaming (default ``min(8, cpu_count)``).

    Attributes:
        fields: the batch keys, e.g. ``("image",)``, ``("input", "target")``, ``("a", "b")``.
        channels: colour channels of image fields.
        resident: after :meth:`setup`, True when the decoded data lives on the device.
        channels_last: batches come in channels_last (set by the engine from its measured
            memory format; default False).
    """

    def __init__(
        self,
        tables: Sequence[Table],
        *,
        channels: int,
        crop: Size | None = None,
        augment: Augment | None = None,
        masks: MaskGenerator | None = None,
        memory_budget: int | None = None,
        workers: int | None = None,
    ) -> None:
        """Keep the tables and options; nothing is decoded before :meth:`setup`."""
        if not tables or any(len(t) == 0 for t in tables):
            raise DatasetError("empty training set")
        self.tables = list(tables)
        self.fields = tuple(f for t in self.tables for f in t.fields)
        if len(set(self.fields)) != len(self.fields) or (
            masks is not None and "mask" in self.fields
        ):
            raise ValueError(f"duplicate batch fields: {self.fields} (+ generated mask)")
        self.fields += ("mask",) if masks is not None else ()
        self.channels, self.crop, self.augment, self.masks = channels, pair(crop), augment, masks
        self.memory_budget, self.workers = memory_budget, workers
        self.device = torch.device("cpu")
        self.order = Order([len(t) for t in self.tables])
        self.epoch, self.index = 0, 0
        self.resident = False
        self.channels_last = False
        self._store: Store = {}
        self._loader: Iterator[Item] | None = None
        self._loader_at: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        """Fields, items per table and crop."""
        sizes = "+".join(str(len(t)) for t in self.tables)
        return f"TrainData(fields={self.fields}, items={sizes}, crop={self.crop})"

    def __len__(self) -> int:
        """Samples per epoch over all ranks (the longest table)."""
        return self.order.epoch_len

    @property
    def per_rank(self) -> int:
        """Samples one rank visits per epoch."""
        return self.order.per_rank

    @property
    def seed(self) -> int:
        """The permutation seed (set by :meth:`setup`, part of the saved position)."""
        return self.order.seed

    # ------------------------------------------------------------------------------ set-up
    def setup(
        self, device: str | torch.device = "cpu", *, rank: int = 0, world: int = 1, seed: int = 0
    ) -> TrainData:
        """Bind to ``device`` and a rank; decode onto the device when the data fits the budget.

        Args:
            device: where batches are produced.
            rank: this process's rank (distributed training).
            world: the number of ranks.
            seed: the permutation seed (also part of the saved position).

        Returns:
            ``self``.

        Raises:
            DatasetError: fewer samples than ranks, or an item cannot be decoded (names it).
        """
        self.device = torch.device(device)
        if len(self) < world:
            raise DatasetError(f"{len(self)} training items cannot be shared by {world} ranks")
        self.order = Order([len(t) for t in self.tables], seed, rank, world)
        self._loader = None
        budget = self.memory_budget
        budget = default_budget(self.device) if budget is None else budget
        store = decode_all(self.tables, self.crop, self.device, budget)
        self.resident, self._store = store is not None, store or {}
        return self

    def state_dict(self) -> dict[str, int]:
        """The data position: ``{"epoch", "index", "seed"}`` (JSON-safe ints)."""
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from a position :meth:`state_dict` returned (after :meth:`setup`)."""
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        o = self.order
        self.order = Order(o.lengths, int(state.get("seed", o.seed)), o.rank, o.world)
        self._loader = None

    # ----------------------------------------------------------------------------- batches
    def next_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """The next ``batch_size`` samples of this rank, augmented, on the device.

        Returns:
            ``{field: tensor}``: image fields ``(N, C, H, W)`` float32 in ``[0, 1]``; masks
            ``(N, 1, H, W)`` float32 in ``{0, 1}`` (1 = fill); labels ``(N,)`` int64.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        keys, after = self.order.keys(batch_size, self.epoch, self.index)
        if self.resident:
            u8 = gather(self._store, self.tables, keys, self.crop, center=False)
        else:
            u8 = self._streamed(batch_size)
        self.epoch, self.index = after
        self._loader_at = (*after, batch_size)
        return self._finish(u8, keys, train=True)

    def preview(self, n: int) -> dict[str, torch.Tensor]:
        """The first ``n`` items (file order): fixed validation inputs for sample grids.

        Centre-cropped, augmented with ``train=False`` (nothing random), generated masks from
        fixed seeds. Does not move the position or touch any RNG.

        Returns:
            As :meth:`next_batch`, with ``min(n, len(self))`` samples.
        """
        if n < 1:
            raise ValueError(f"preview needs at least 1 item, got {n}")
        keys = self.order.first(min(n, len(self)))
        if self.resident:
            u8 = gather(self._store, self.tables, keys, self.crop, center=True)
        else:
            u8 = stack_items([load_sample(self.tables, k, self.crop, center=True) for k in keys])
        return self._finish(u8, keys, train=False)

    def _streamed(self, batch_size: int) -> Item:
        if self._loader is None or self._loader_at != (self.epoch, self.index, batch_size):
            workers = self.workers if self.workers is not None else min(8, os.cpu_count() or 1)
            start = (self.epoch, self.index)
            pin = self.device.type == "cuda"
            self._loader = make_loader(
                self.tables, self.crop, self.order, batch_size, start, workers, pin
            )
        batch = next(self._loader)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    @torch.no_grad()
    def _finish(self, u8: Item, keys: Sequence[Key], *, train: bool) -> dict[str, torch.Tensor]:
        """uint8 batch -> float32 fields, augmented per table, plus generated masks."""
        out: dict[str, torch.Tensor] = {}
        for table in self.tables:
            pix = {k: u8[k].float().div_(255.0) for k in table.pixel_fields()}
            if self.augment is not None and pix:
                pix = self.augment(pix, train)
            for k, kind in table.kinds.items():
                if kind == "label":
                    out[k] = u8[k].long()
                elif kind == "mask":
                    out[k] = (pix[k] > 0.5).float()
                else:
                    out[k] = self._layout(pix[k].clamp(0, 1))
        if self.masks is not None:
            first = out[self.tables[0].pixel_fields()[0]]
            seeds = [sample_seed(k.seed, _MASK_SALT) for k in keys]
            out["mask"] = self.masks.from_seeds(
                seeds, first.shape[-2], first.shape[-1], self.device
            )
        return out

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x
