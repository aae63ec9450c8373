"""Training datasets: decoded once, kept on the device as uint8, augmented there with kornia.

A family builds one of these in ``dataset(paths, config)``; the engine owns it from then on:
it calls :meth:`TrainData.setup` (device, rank, world size, seed), draws batches with
:meth:`TrainData.next_batch` and saves/restores the data position (epoch, index in the
permutation, permutation seed) with :meth:`TrainData.state_dict` for an exact resume.

How a family uses it::

    from ganedit.io import datasets

    class MyFamily(ganedit.ModelFamily):
        def dataset(self, paths, config):
            # one folder (or a Fashion-MNIST idx file / folder of idx files), gray, 64x64
            return datasets.image_folder(paths, channels=1, load_size=(64, 64), flip=True)

        def training_step(self, nets, opts, batch, engine):
            real = batch["image"]            # (N, 1, 64, 64) float32 in [0, 1], on the device
            ...

Other sources, each returning the same :class:`TrainData` object:

* ``paired_folders(a_dir, b_dir, crop=256)`` -> ``batch["input"]``, ``batch["target"]``
  (files matched by relative path, suffix ignored); ``side_by_side(paths)`` splits each
  ``A|B`` image (pix2pix layout) into the same two keys.
* ``unpaired(a_paths, b_paths)`` -> ``batch["a"]``, ``batch["b"]`` (CycleGAN: B drawn at random).
* ``image_mask(images, masks)`` -> ``batch["image"]`` and ``batch["mask"]`` ((N, 1, H, W),
  1.0 = fill, 0.0 = keep).
* ``idx_images(images_file, labels_file)`` (Fashion-MNIST/MNIST idx, ``.gz`` or not) ->
  ``batch["image"]`` and ``batch["label"]`` ((N,) int64); ``tensor_images(array)`` for data
  already in memory.

Augmentation, the same for every source: ``load_size`` resizes each image once when it is
decoded (an int: shorter side, aspect kept; ``(H, W)``: exact); ``crop`` takes a random window
(a slice of the uint8 data, no interpolation; centred in :meth:`TrainData.preview`); then on the
device, with :mod:`kornia.augmentation` applied to the fields of one sample *jointly* (they are
concatenated along channels, so input/target or image/mask get identical parameters):
horizontal ``flip`` and a final ``size`` resize (masks re-thresholded at 0.5).

Storage: when the decoded uint8 data fits ``memory_budget`` bytes (default: half the free GPU
memory on CUDA, a quarter of the RAM on the CPU) it is decoded once, in parallel, and kept on the
device (one stacked tensor per field when all images share a size, a list of tensors otherwise,
cropped per batch). Otherwise batches stream from a :class:`torch.utils.data.DataLoader` with
worker processes and pinned memory; both paths give the same batches for the same position.

Sampling: epoch ``e`` visits ``randperm(n, seed, e)``; with ``world`` ranks, rank ``r`` takes
``perm[r::world]`` truncated to ``n // world`` items, so ranks see different samples and stay in
lockstep. Crop windows are a pure function of (seed, rank, epoch, index), so a restored position
reproduces the same crops; flips come from the global torch RNG, which the engine saves.
"""

from __future__ import annotations

import gzip
import math
import multiprocessing as mp
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DatasetError",
    "TrainData",
    "idx_images",
    "image_folder",
    "image_mask",
    "paired_folders",
    "read_idx",
    "side_by_side",
    "tensor_images",
    "unpaired",
]

Size = int | tuple[int, int]
Loader = Callable[[], dict[str, torch.Tensor]]


class DatasetError(ValueError):
    """Training data that cannot be used (no images, unmatched pairs, a bad idx file...)."""


# --------------------------------------------------------------------------- idx (MNIST) files
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (the MNIST / Fashion-MNIST format), gzipped or not.

    Returns:
        The array with the file's shape, e.g. ``(60000, 28, 28)`` uint8 for images or
        ``(60000,)`` uint8 for labels. Raises :class:`DatasetError` naming the file otherwise.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{p}: cannot read idx file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{p}: not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{p}: truncated idx header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[raw[2]]
    count = math.prod(shape)
    if len(raw) - header < count * dtype.itemsize:
        raise DatasetError(f"{p}: truncated idx data ({len(raw) - header} bytes for shape {shape})")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape).copy()


def _find_idx(folder: Path) -> tuple[Path, Path | None] | None:
    """The training idx images (and labels) inside ``folder``, or None."""
    files = sorted(p for p in folder.iterdir() if "idx3-ubyte" in p.name)
    if not files:
        return None
    images = next((p for p in files if p.name.startswith("train")), files[0])
    stem = images.name.replace("images-idx3", "labels-idx1").removesuffix(".gz")
    labels = next((folder / n for n in (stem, stem + ".gz") if (folder / n).is_file()), None)
    return images, labels


# ------------------------------------------------------------------------------ preprocessing
def _to_chw(img: np.ndarray, channels: int, name: str) -> torch.Tensor:
    """HxWxC uint8/uint16 -> (channels, H, W) uint8 tensor (alpha dropped, gray<->RGB)."""
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DatasetError(f"{name}: unsupported pixel type {img.dtype}")
    c = img.shape[2]
    if c in (2, 4):
        img = img[:, :, : c - 1]
        c -= 1
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    if channels == c:
        return t.contiguous()
    if channels == 1 and c == 3:
        w = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        return (t.float() * w).sum(0, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if channels == 3 and c == 1:
        return t.expand(3, -1, -1).contiguous()
    raise DatasetError(f"{name}: cannot convert {c} channels to {channels}")


def _resize_u8(t: torch.Tensor, load_size: Size | None, *, mask: bool = False) -> torch.Tensor:
    """Resize a (C, H, W) or (N, C, H, W) uint8 tensor: int -> shorter side, (H, W) -> exact."""
    if load_size is None:
        return t
    h, w = t.shape[-2:]
    if isinstance(load_size, int):
        s = load_size / min(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
    else:
        size = (int(load_size[0]), int(load_size[1]))
    if size == (h, w):
        return t
    x = (t[None] if t.dim() == 3 else t).float()
    if mask:
        y = F.interpolate(x, size=size, mode="nearest")
    else:
        y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    y = y.round().clamp(0, 255).to(torch.uint8)
    return y[0] if t.dim() == 3 else y


def _image_loader(
    path: Path, channels: int, load_size: Size | None, *, mask: bool = False
) -> Callable[[], torch.Tensor]:
    def load() -> torch.Tensor:
        from ganedit.io import read_image

        img = read_image(path)
        if mask:
            m = img[..., :1] if img.ndim == 3 else img
            if m.dtype == np.uint16:
                m = (m >> 8).astype(np.uint8)
            t = torch.from_numpy(np.ascontiguousarray((m > 127).astype(np.uint8) * 255))
            t = t.reshape(img.shape[0], img.shape[1], 1).permute(2, 0, 1).contiguous()
        else:
            t = _to_chw(img, channels, str(path))
        return _resize_u8(t, load_size, mask=mask)

    return load


# --------------------------------------------------------------------------------- sources
class _Table:
    """Items whose fields share one geometry (cropped and flipped together)."""

    def __init__(
        self,
        fields: Sequence[str],
        loaders: Sequence[Loader],
        names: Sequence[str],
        bulk: Callable[[], dict[str, torch.Tensor]] | None = None,
    ):
        self.fields = tuple(fields)
        self.loaders = list(loaders)
        self.names = list(names)
        self.bulk = bulk  # all items at once, stacked (in-memory sources: fast decode)

    def __len__(self) -> int:
        return len(self.loaders)


def _walk(paths: Sequence[str | Path] | str | Path) -> list[tuple[Path, Path]]:
    from ganedit.io import walk_inputs

    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = walk_inputs([Path(p) for p in paths])
    if result.missing:
        raise DatasetError(f"training data not found: {', '.join(map(str, result.missing))}")
    items = [(it.path, it.rel) for it in result.items]
    if not items:
        raise DatasetError(f"no images found in {', '.join(map(str, paths))}")
    return items


def _match(
    a: list[tuple[Path, Path]], b: list[tuple[Path, Path]], what: str
) -> list[tuple[Path, Path]]:
    """Pair files of ``a`` and ``b`` by relative path without suffix."""
    bmap = {rel.with_suffix(""): path for path, rel in b}
    pairs, missing = [], []
    for path, rel in a:
        other = bmap.get(rel.with_suffix(""))
        if other is None:
            missing.append(str(rel))
        else:
            pairs.append((path, other))
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise DatasetError(f"no {what} for {', '.join(missing[:5])}{more}")
    return pairs


# ------------------------------------------------------------------------------- the dataset
def _pair(size: Size | None) -> tuple[int, int] | None:
    if size is None:
        return None
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _default_budget(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free // 2
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        ram = 8 << 30
    return ram // 4


class _StreamItems(torch.utils.data.Dataset):
    """Map-style dataset for the DataLoader: key (index, crop seed) -> dict of uint8 crops."""

    def __init__(self, data: TrainData) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        i, seed = key
        return self.data._load_sample(i, seed, center=False)


class _BatchKeys(torch.utils.data.Sampler):
    """Yields lists of (index, crop seed) from a start position, forever."""

    def __init__(self, data: TrainData, batch_size: int, start: tuple[int, int]) -> None:
        self.data, self.batch_size, self.start = data, batch_size, start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, index = self.start
        while True:
            keys, (epoch, index) = self.data._keys(self.batch_size, epoch, index)
            yield keys

    def __len__(self) -> int:  # pragma: no cover - infinite
        return 2**62


class TrainData:
    """A training dataset; build it with the module's functions (see the module docstring).

    Attributes:
        fields: the batch keys, e.g. ``("image",)`` or ``("input", "target")``.
        channels: colour channels of image fields.
        resident: after :meth:`setup`, True when the decoded data lives on the device.
    """

    def __init__(
        self,
        tables: Sequence[_Table],
        *,
        channels: int,
        crop: Size | None = None,
        flip: bool = True,
        size: Size | None = None,
        memory_budget: int | None = None,
        workers: int | None = None,
        mask_fields: Sequence[str] = ("mask",),
        scalar_fields: Sequence[str] = ("label",),
    ) -> None:
        if not tables or not len(tables[0]):
            raise DatasetError("empty training set")
        self.tables = list(tables)
        self.fields = tuple(f for t in self.tables for f in t.fields)
        self.channels = channels
        self.crop = _pair(crop)
        self.flip = flip
        self.size = _pair(size)
        self.memory_budget = memory_budget
        self.workers = workers
        self.mask_fields = set(mask_fields)
        self.scalar_fields = set(scalar_fields)
        self.device = torch.device("cpu")
        self.rank, self.world, self.seed = 0, 1, 0
        self.epoch, self.index = 0, 0
        self.resident = False
        self._store: dict[str, list[torch.Tensor] | torch.Tensor] = {}
        self._perm_cache: tuple[int, list[int]] | None = None
        self._loader_iter: Iterator[dict[str, torch.Tensor]] | None = None
        self._loader_key: tuple[int, int, int] | None = None
        self._augs: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- sampling
    def __len__(self) -> int:
        """Items per epoch over all ranks (the longest table)."""
        return max(len(t) for t in self.tables)

    @property
    def per_rank(self) -> int:
        """Items one rank visits per epoch."""
        return max(1, len(self) // self.world)

    def _perm(self, epoch: int) -> list[int]:
        if self._perm_cache is None or self._perm_cache[0] != epoch:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % (2**63))
            perm = torch.randperm(len(self), generator=g)
            if self.world > 1:
                perm = perm[self.rank :: self.world][: self.per_rank]
            self._perm_cache = (epoch, perm.tolist())
        return self._perm_cache[1]

    def _keys(
        self, k: int, epoch: int, index: int
    ) -> tuple[list[tuple[int, int]], tuple[int, int]]:
        keys = []
        for _ in range(k):
            if index >= self.per_rank:
                epoch, index = epoch + 1, 0
            i = self._perm(epoch)[index]
            seed = int(
                np.random.SeedSequence([self.seed, self.rank, epoch, index]).generate_state(1)[0]
            )
            keys.append((i, seed))
            index += 1
        return keys, (epoch, index)

    def state_dict(self) -> dict[str, int]:
        """The data position: ``{"epoch", "index", "seed"}`` (JSON-safe ints)."""
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a position :meth:`state_dict` returned."""
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        self.seed = int(state.get("seed", self.seed))
        self._perm_cache = None
        self._loader_iter = None

    # ------------------------------------------------------------------------------- loading
    def _load_item(self, table: _Table, j: int) -> dict[str, torch.Tensor]:
        out = table.loaders[j]()
        shapes = {tuple(v.shape[-2:]) for k, v in out.items() if k not in self.scalar_fields}
        if len(shapes) > 1:
            raise DatasetError(f"{table.names[j]}: paired images differ in size {sorted(shapes)}")
        if self.crop is not None and shapes:
            (h, w) = next(iter(shapes))
            if h < self.crop[0] or w < self.crop[1]:
                raise DatasetError(
                    f"{table.names[j]}: {w}x{h} is smaller than the crop {self.crop[1]}x{self.crop[0]}"
                    " (set load_size)"
                )
        return out

    def _pick(self, i: int, seed: int) -> list[int]:
        """Item index per table for sample ``i`` (other tables: drawn at random, CycleGAN)."""
        rng = np.random.default_rng(seed)
        picks = [i % len(self.tables[0])]
        for t in self.tables[1:]:
            picks.append(int(rng.integers(len(t))))
        return picks

    def _offsets(
        self, hw: tuple[int, int], seed: int, t: int, center: bool
    ) -> tuple[int, int, int, int]:
        h, w = hw
        if self.crop is None:
            return 0, 0, h, w
        ch, cw = self.crop
        if center:
            return (h - ch) // 2, (w - cw) // 2, ch, cw
        rng = np.random.default_rng([seed, t])
        return int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1)), ch, cw

    def _load_sample(self, i: int, seed: int, *, center: bool) -> dict[str, torch.Tensor]:
        """Decode and crop one sample on the CPU (streaming path)."""
        out: dict[str, torch.Tensor] = {}
        for t, (table, j) in enumerate(zip(self.tables, self._pick(i, seed), strict=True)):
            item = self._load_item(table, j)
            for k, v in item.items():
                if k in self.scalar_fields:
                    out[k] = v
                    continue
                y, x, h, w = self._offsets((v.shape[-2], v.shape[-1]), seed, t, center)
                out[k] = v[:, y : y + h, x : x + w].contiguous()
        return out

    # --------------------------------------------------------------------------------- setup
    def setup(
        self, device: str | torch.device = "cpu", *, rank: int = 0, world: int = 1, seed: int = 0
    ) -> TrainData:
        """Bind to ``device`` and a rank; decode onto the device when the data fits the budget.

        Args:
            device: where batches are produced.
            rank, world: this process's rank and the number of ranks (distributed training).
            seed: the permutation seed (also part of the saved position).

        Returns:
            ``self``.
        """
        self.device = torch.device(device)
        self.rank, self.world, self.seed = rank, world, seed
        if len(self) < world:
            raise DatasetError(f"{len(self)} training items cannot be shared by {world} ranks")
        self._perm_cache = None
        self._loader_iter = None
        budget = (
            self.memory_budget if self.memory_budget is not None else _default_budget(self.device)
        )
        self.resident = self._decode_all(budget)
        return self

    def _decode_all(self, budget: int) -> bool:
        """Decode every item to the device; False (nothing kept) when over ``budget`` bytes."""
        if budget <= 0:
            return False
        store: dict[str, list[torch.Tensor]] = {f: [] for f in self.fields}
        used = 0
        threads = min(16, os.cpu_count() or 1)
        with ThreadPoolExecutor(threads) as pool:
            for table in self.tables:
                if table.bulk is not None:
                    whole = table.bulk()
                    used += sum(v.numel() for v in whole.values())
                    if used > budget:
                        return False
                    for k, v in whole.items():
                        store[k] = v.to(self.device)  # type: ignore[assignment]
                    continue
                it = pool.map(lambda j, tb=table: self._load_item(tb, j), range(len(table)))
                for item in it:
                    used += sum(v.numel() for v in item.values())
                    if used > budget:
                        return False
                    for k, v in item.items():
                        store[k].append(v.to(self.device, non_blocking=True))
        self._store = {}
        for k, items in store.items():
            if isinstance(items, torch.Tensor):
                self._store[k] = items
                continue
            same = len({tuple(v.shape) for v in items}) == 1
            self._store[k] = torch.stack(items) if same else items
        return True

    # ------------------------------------------------------------------------------ batches
    def next_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """The next ``batch_size`` samples of this rank, augmented, on the device.

        Returns:
            ``{field: tensor}``: image fields ``(N, C, H, W)`` float32 in ``[0, 1]``; masks
            ``(N, 1, H, W)`` float32 in ``{0, 1}``; labels ``(N,)`` int64.
        """
        if self.resident:
            keys, (self.epoch, self.index) = self._keys(batch_size, self.epoch, self.index)
            u8 = self._gather(keys, center=False)
        else:
            start = (self.epoch, self.index)
            if self._loader_iter is None or self._loader_key != (*start, batch_size):
                self._loader_iter = self._make_loader(batch_size, start)
            u8 = next(self._loader_iter)
            _, (self.epoch, self.index) = self._keys(batch_size, self.epoch, self.index)
            self._loader_key = (self.epoch, self.index, batch_size)
            u8 = {k: v.to(self.device, non_blocking=True) for k, v in u8.items()}
        return self._augment(u8, train=True)

    def preview(self, n: int) -> dict[str, torch.Tensor]:
        """The first ``n`` items, centre-cropped, not flipped, on the device (fixed validation
        inputs for sample grids). Does not move the position or touch any RNG."""
        n = min(n, len(self))
        keys = [(i, 0) for i in range(n)]
        if self.resident:
            u8 = self._gather(keys, center=True)
        else:
            items = [self._load_sample(i, s, center=True) for i, s in keys]
            u8 = {k: torch.stack([it[k] for it in items]).to(self.device) for k in items[0]}
        return self._augment(u8, train=False)

    def _gather(self, keys: list[tuple[int, int]], *, center: bool) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        picks = [self._pick(i, s) for i, s in keys]
        for t, table in enumerate(self.tables):
            idx = [p[t] for p in picks]
            for k in table.fields:
                stored = self._store[k]
                if k in self.scalar_fields:
                    out[k] = stored[torch.tensor(idx, device=self.device)]  # type: ignore[index]
                    continue
                if isinstance(stored, torch.Tensor) and self.crop is None:
                    out[k] = stored[torch.tensor(idx, device=self.device)]
                    continue
                crops = []
                for j, (_i, seed) in zip(idx, keys, strict=True):
                    v = stored[j]
                    y, x, h, w = self._offsets((v.shape[-2], v.shape[-1]), seed, t, center)
                    crops.append(v[:, y : y + h, x : x + w])
                if len({tuple(c.shape) for c in crops}) > 1:
                    raise DatasetError(
                        "training images differ in size: set crop or load_size=(H, W)"
                    )
                out[k] = torch.stack(crops)
        return out

    def _make_loader(
        self, batch_size: int, start: tuple[int, int]
    ) -> Iterator[dict[str, torch.Tensor]]:
        workers = self.workers if self.workers is not None else min(8, os.cpu_count() or 1)
        # the item loaders are closures: fork (Linux) shares them with the workers
        ctx = "fork" if "fork" in mp.get_all_start_methods() else None
        loader = torch.utils.data.DataLoader(
            _StreamItems(self),
            batch_sampler=_BatchKeys(self, batch_size, start),
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if workers > 0 else None,
            multiprocessing_context=ctx if workers > 0 else None,
        )
        # creating the iterator draws a base seed: keep it off the global RNG (exact resume)
        with torch.random.fork_rng(devices=[]):
            return iter(loader)

    def _aug(self, channels: int, train: bool) -> Any:
        key = f"{channels}-{train}"
        if key not in self._augs:
            import kornia.augmentation as K

            ops: list[K.AugmentationBase2D] = []
            if train and self.flip:
                ops.append(K.RandomHorizontalFlip(p=0.5))
            if self.size is not None:
                ops.append(K.Resize(self.size, antialias=True))
            self._augs[key] = K.AugmentationSequential(*ops) if ops else None
        return self._augs[key]

    def _augment(self, u8: dict[str, torch.Tensor], *, train: bool) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for table in self.tables:
            keys = [k for k in table.fields if k not in self.scalar_fields]
            for k in table.fields:
                if k in self.scalar_fields:
                    out[k] = u8[k].long()
            if not keys:
                continue
            xs = [u8[k].float().div_(255.0) for k in keys]
            x = torch.cat(xs, 1) if len(xs) > 1 else xs[0]
            aug = self._aug(x.shape[1], train)
            if aug is not None:
                x = aug(x)
            if self.device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            for k, part in zip(keys, torch.split(x, [v.shape[1] for v in xs], 1), strict=True):
                out[k] = (part > 0.5).float() if k in self.mask_fields else part.clamp(0, 1)
        return out


# ---------------------------------------------------------------------------------- builders
def _common(kw: dict[str, Any]) -> dict[str, Any]:
    allowed = {"crop", "flip", "size", "memory_budget", "workers"}
    bad = set(kw) - allowed
    if bad:
        raise TypeError(f"unexpected dataset options: {', '.join(sorted(bad))}")
    return kw


def tensor_images(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | None = None,
    *,
    channels: int | None = None,
    load_size: Size | None = None,
    **kw: Any,
) -> TrainData:
    """A dataset from images already in memory.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)`` uint8 (HWC, like :func:`ganedit.io.read_image`).
        labels: optional ``(N,)`` integer class labels (``batch["label"]``).
        channels: 1 or 3 (default: the array's).
        load_size, crop, flip, size, memory_budget, workers: see the module docstring.
    """
    arr = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[0] == 0:
        raise DatasetError(f"expected (N, H, W[, C]) images, got shape {arr.shape}")
    ch = channels or (1 if arr.shape[3] == 1 else 3)
    lab = None if labels is None else torch.as_tensor(np.asarray(labels)).long()
    fields = ("image", "label") if lab is not None else ("image",)

    def loader(j: int) -> Loader:
        def load() -> dict[str, torch.Tensor]:
            out = {"image": _resize_u8(_to_chw(arr[j], ch, f"image {j}"), load_size)}
            if lab is not None:
                out["label"] = lab[j]
            return out

        return load  # type: ignore[return-value]

    def bulk() -> dict[str, torch.Tensor]:
        chunks = []
        for i in range(0, arr.shape[0], 2048):
            part = torch.from_numpy(np.ascontiguousarray(arr[i : i + 2048]))
            if part.dtype == torch.uint16:
                high = (part.numpy() >> 8).astype(np.uint8)
                part = torch.from_numpy(high)
            if part.dtype != torch.uint8:
                raise DatasetError(f"in-memory images: unsupported pixel type {part.dtype}")
            x = part.permute(0, 3, 1, 2)
            if x.shape[1] != ch:
                x = torch.stack([_to_chw(a, ch, "image") for a in part.numpy()])
            chunks.append(_resize_u8(x, load_size).contiguous())
        out = {"image": torch.cat(chunks)}
        if lab is not None:
            out["label"] = lab
        return out

    names = [f"image {j}" for j in range(arr.shape[0])]
    table = _Table(fields, [loader(j) for j in range(arr.shape[0])], names, bulk)
    return TrainData([table], channels=ch, **_common(kw))


def idx_images(
    images_file: str | Path, labels_file: str | Path | None = None, **kw: Any
) -> TrainData:
    """Fashion-MNIST / MNIST idx files (``.gz`` or not): ``batch["image"]`` (N, 1, H, W) and,
    with ``labels_file``, ``batch["label"]`` (N,) int64. Options as :func:`tensor_images`."""
    imgs = read_idx(images_file)
    if imgs.ndim != 3:
        raise DatasetError(f"{images_file}: expected (N, H, W) images, found shape {imgs.shape}")
    labels = read_idx(labels_file) if labels_file is not None else None
    if labels is not None and labels.shape[0] != imgs.shape[0]:
        raise DatasetError(f"{labels_file}: {labels.shape[0]} labels for {imgs.shape[0]} images")
    return tensor_images(imgs, labels, **kw)


def image_folder(
    paths: Sequence[str | Path] | str | Path,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **kw: Any,
) -> TrainData:
    """Every image under ``paths`` (folders walked recursively, files taken as given) as
    ``batch["image"]`` ``(N, channels, H, W)``. A folder holding idx files, or an idx file
    itself, is read with :func:`idx_images` (labels included when beside it).

    Options: ``load_size``, ``crop``, ``flip``, ``size``, ``memory_budget``, ``workers``
    (see the module docstring).
    """
    plist = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if len(plist) == 1:
        p = plist[0]
        found = _find_idx(p) if p.is_dir() else ((p, None) if "idx" in p.name else None)
        if found is not None:
            return idx_images(found[0], found[1], channels=channels, load_size=load_size, **kw)
    items = _walk(plist)
    table = _Table(
        ("image",),
        [_wrap("image", _image_loader(p, channels, load_size)) for p, _ in items],
        [str(p) for p, _ in items],
    )
    return TrainData([table], channels=channels, **_common(kw))


def _wrap(key: str, fn: Callable[[], torch.Tensor]) -> Loader:
    return lambda: {key: fn()}


def _wrap2(k1: str, f1: Callable[[], Any], k2: str, f2: Callable[[], Any]) -> Loader:
    return lambda: {k1: f1(), k2: f2()}


def paired_folders(
    a: str | Path, b: str | Path, *, channels: int = 3, load_size: Size | None = None, **kw: Any
) -> TrainData:
    """Pairs matched by relative path (suffix ignored): ``batch["input"]`` from ``a``,
    ``batch["target"]`` from ``b``, cropped and flipped together. A file of ``a`` without a
    partner in ``b`` raises :class:`DatasetError` naming it."""
    pairs = _match(_walk(a), _walk(b), f"partner in {b}")
    loaders = [
        _wrap2(
            "input",
            _image_loader(pa, channels, load_size),
            "target",
            _image_loader(pb, channels, load_size),
        )
        for pa, pb in pairs
    ]
    table = _Table(("input", "target"), loaders, [str(pa) for pa, _ in pairs])
    return TrainData([table], channels=channels, **_common(kw))


def side_by_side(
    paths: Sequence[str | Path] | str | Path,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    direction: str = "AtoB",
    **kw: Any,
) -> TrainData:
    """pix2pix layout: each image is ``A | B`` side by side (equal halves). ``AtoB``:
    ``batch["input"]`` = left half, ``batch["target"]`` = right half (``BtoA`` swaps them)."""
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction must be AtoB or BtoA, got {direction!r}")
    items = _walk(paths)

    def loader(path: Path) -> Loader:
        whole = _image_loader(path, channels, None)

        def load() -> dict[str, torch.Tensor]:
            t = whole()
            w = t.shape[-1] // 2
            left, right = t[..., :w].contiguous(), t[..., w : 2 * w].contiguous()
            if direction == "BtoA":
                left, right = right, left
            return {"input": _resize_u8(left, load_size), "target": _resize_u8(right, load_size)}

        return load

    table = _Table(("input", "target"), [loader(p) for p, _ in items], [str(p) for p, _ in items])
    return TrainData([table], channels=channels, **_common(kw))


def unpaired(
    a: Sequence[str | Path] | str | Path,
    b: Sequence[str | Path] | str | Path,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **kw: Any,
) -> TrainData:
    """Two unpaired domains: ``batch["a"]`` walks ``a`` by permutation, ``batch["b"]`` is an
    independent random item of ``b`` (as in CycleGAN). Each is cropped/flipped on its own."""
    ia, ib = _walk(a), _walk(b)
    ta = _Table(
        ("a",),
        [_wrap("a", _image_loader(p, channels, load_size)) for p, _ in ia],
        [str(p) for p, _ in ia],
    )
    tb = _Table(
        ("b",),
        [_wrap("b", _image_loader(p, channels, load_size)) for p, _ in ib],
        [str(p) for p, _ in ib],
    )
    return TrainData([ta, tb], channels=channels, **_common(kw))


def image_mask(
    images: str | Path,
    masks: str | Path,
    *,
    channels: int = 3,
    load_size: Size | None = None,
    **kw: Any,
) -> TrainData:
    """Images with masks matched by relative path (suffix ignored): ``batch["image"]`` and
    ``batch["mask"]`` ``(N, 1, H, W)`` float, 1.0 where the mask file is brighter than 127
    (= pixels to fill). Cropped, flipped and resized jointly."""
    pairs = _match(_walk(images), _walk(masks), f"mask in {masks}")
    loaders = [
        _wrap2(
            "image",
            _image_loader(pi, channels, load_size),
            "mask",
            _image_loader(pm, 1, load_size, mask=True),
        )
        for pi, pm in pairs
    ]
    table = _Table(("image", "mask"), loaders, [str(pi) for pi, _ in pairs])
    return TrainData([table], channels=channels, **_common(kw))
