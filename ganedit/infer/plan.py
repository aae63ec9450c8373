"""Tiles and batches: the tiling policy, the memory plan and the out-of-memory back-off.

**Tiling policy** (:func:`plan_tiling`), from the requested ``tile`` / ``tile_overlap`` and
the family's :class:`~ganedit.family.IOSpec`:

* ``SUPPORTED`` and ``NEEDS_CONTEXT`` families: the overlap is at least the family's
  ``tiling.min_overlap``; overlap and tile are multiples of ``size_multiple``; the tile is at
  least twice the overlap and exceeds it by at least one multiple (so neighbours advance by a
  whole multiple while really sharing the overlap). A request that does not meet this is
  *rounded up* to the nearest one that does, with a note (one line the runner reports once).
  A request that cannot mean anything (a negative size) is refused with a ``ValueError``.
  For a SUPPORTED family every accepted tile gives the untiled result within 1e-4.
* ``UNTILED`` families (image-wide statistics) are never tiled: an explicit tile is ignored
  with a note saying why; an image too large for the device fails with a message saying the
  family cannot be tiled.

**Memory plan** (:func:`plan_call`): ``(tile, batch)`` for one image size from the device
memory (60% of the free CUDA memory, or :data:`CPU_MEMORY_BUDGET`) and a pessimistic estimate
of bytes per output pixel.

**Out-of-memory back-off** (:class:`OOMBackoff`, CUDA): halve the batch, then the tile, and
remember the tile that fitted for later calls.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ganedit.family import IOSpec, TilingMode
from ganedit.infer.tiling import legal_tile

__all__ = [
    "BYTES_PER_OUTPUT_PIXEL",
    "CPU_MEMORY_BUDGET",
    "MAX_AUTO_BATCH",
    "MIN_TILE",
    "OOMBackoff",
    "TilePlan",
    "UntiledMemoryError",
    "memory_budget",
    "pixel_budget",
    "plan_call",
    "plan_tiling",
]

#: Memory the automatic tile/batch choice plans for on the CPU (bytes).
CPU_MEMORY_BUDGET = 2 << 30
#: Estimated peak bytes per *output* pixel while a generator runs (activations, several live
#: feature maps of a few dozen channels in fp32). Deliberately pessimistic; the CUDA path backs
#: off on out-of-memory anyway.
BYTES_PER_OUTPUT_PIXEL = 2048
#: Upper bound for an automatic batch size.
MAX_AUTO_BATCH = 16
#: The smallest tile the automatic plan and the out-of-memory back-off use (input pixels).
MIN_TILE = 32


class UntiledMemoryError(RuntimeError):
    """A whole image of an UNTILED family does not fit in the device memory."""


@dataclass(frozen=True)
class TilePlan:
    """The tiling settings an editor runs with, after the policy.

    Attributes:
        tile: ``None`` = automatic (tile only what does not fit), ``0`` = never tile, else the
            tile size in input pixels (already legal for the family).
        overlap: the overlap in input pixels (legal for the family).
        multiple: the family's size multiple.
        tileable: False for an UNTILED family (then ``tile`` is always 0).
        notes: what the policy changed and why (empty when the request was honoured).
    """

    tile: int | None
    overlap: int
    multiple: int = 1
    tileable: bool = True
    notes: tuple[str, ...] = ()

    def legal(self, tile: int) -> int:
        """The legal tile nearest above ``tile`` for this plan's overlap and multiple."""
        return legal_tile(tile, self.overlap, self.multiple)[0]


def plan_tiling(tile: int | None, overlap: int, io: IOSpec, family: str = "model") -> TilePlan:
    """Apply the tiling policy (module docstring) to a requested ``tile`` and ``overlap``.

    Args:
        tile: ``None`` (automatic), ``0`` (never) or a tile size in input pixels.
        overlap: requested overlap in input pixels.
        io: the family's :class:`~ganedit.family.IOSpec` for its config.
        family: the family's name, for the notes.

    Raises:
        ValueError: a negative tile or overlap.
    """
    if (tile is not None and tile < 0) or overlap < 0:
        raise ValueError(f"tile and tile_overlap must be >= 0, got {tile} and {overlap}")
    m = io.size_multiple
    if io.tiling.mode is TilingMode.UNTILED:
        notes: tuple[str, ...] = ()
        if tile:
            notes = (
                f"{family} cannot be tiled (it uses image-wide statistics); ignoring "
                f"tile={tile} and running each image whole",
            )
        return TilePlan(0, 0, m, tileable=False, notes=notes)
    want_ov = max(overlap, io.tiling.min_overlap)
    if not tile:
        return TilePlan(tile, legal_tile(want_ov, want_ov, m)[1], m)
    new_tile, new_ov = legal_tile(tile, want_ov, m)
    if (new_tile, new_ov) == (tile, overlap):
        return TilePlan(tile, overlap, m)
    return TilePlan(new_tile, new_ov, m, notes=(_rounding_note(family, tile, overlap, io),))


def _rounding_note(family: str, tile: int, overlap: int, io: IOSpec) -> str:
    """Say what :func:`plan_tiling` changed in ``(tile, overlap)`` and why."""
    m, need = io.size_multiple, io.tiling.min_overlap
    new_tile, new_ov = legal_tile(tile, max(overlap, need), m)
    why = []
    if tile % m or max(overlap, need) % m:
        why.append(f"sizes are multiples of {m}")
    if need > overlap:
        why.append(f"its tiles need >= {need}px overlap")
    if new_tile > -(-tile // m) * m:
        why.append("a tile is at least twice the overlap and a multiple larger")
    return (
        f"{family}: tile {tile}px with {overlap}px overlap rounded up to tile {new_tile}px "
        f"with {new_ov}px overlap ({'; '.join(why)})"
    )


def memory_budget(device: torch.device) -> int:
    """Bytes the automatic tile and batch sizes plan for on ``device``."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    return CPU_MEMORY_BUDGET


def pixel_budget(device: torch.device, dtype: torch.dtype) -> int:
    """Output pixels one generator call may produce (over the whole batch) in ``dtype``."""
    per = BYTES_PER_OUTPUT_PIXEL
    if dtype != torch.float32:
        per //= 2
    return max(1, memory_budget(device) // per)


def plan_call(
    height: int,
    width: int,
    *,
    tiling: TilePlan,
    scale: int,
    budget: int,
    batch_size: int | None = None,
    oom_tile: int | None = None,
) -> tuple[int | None, int]:
    """``(tile, batch)`` for images of ``height`` x ``width`` input pixels.

    ``tile`` is ``None`` when the whole image runs at once; ``batch`` images (or tiles of one
    image) go through one call. ``budget`` is :func:`pixel_budget`; ``oom_tile`` a tile known
    to fit after an out-of-memory error (it caps the tile, and tiles images larger than it).
    """
    out_px = height * width * scale * scale
    tile: int | None
    if not tiling.tileable or tiling.tile == 0:
        tile = None
    elif tiling.tile is not None:
        tile = tiling.tile if max(height, width) > tiling.tile else None
    elif out_px <= budget:
        tile = None
    else:
        tile = tiling.legal(max(MIN_TILE, int(math.sqrt(budget) // scale)))
    if tiling.tileable and oom_tile is not None:
        if tile is not None:
            tile = min(tile, oom_tile)
        elif max(height, width) > oom_tile:
            tile = oom_tile
    if batch_size is not None:
        return tile, batch_size
    px = out_px if tile is None else (tile * scale) ** 2
    return tile, int(max(1, min(MAX_AUTO_BATCH, budget // max(1, px))))


class OOMBackoff:
    """Retry a model call after CUDA out-of-memory: halve the batch, then the tile.

    The tile that fitted is kept in :attr:`tile` for later calls (see :func:`plan_call`).
    An UNTILED family is never tiled: when one whole image does not fit, the call fails with
    :class:`UntiledMemoryError`.

    Args:
        tiling: the editor's :class:`TilePlan`.
        family: the family's name, for messages.
    """

    def __init__(self, tiling: TilePlan, family: str = "model") -> None:
        self.tiling = tiling
        self.family = family
        self.tile: int | None = None

    def run(
        self,
        attempt: Callable[[int | None, int], torch.Tensor],
        tile: int | None,
        batch: int,
        size: tuple[int, int],
    ) -> torch.Tensor:
        """``attempt(tile, batch)`` until it fits.

        Args:
            attempt: runs the work with a tile (``None`` = whole) and a batch size.
            tile, batch: the first try (from :func:`plan_call`).
            size: ``(height, width)`` of the input, in input pixels.

        Raises:
            torch.OutOfMemoryError: even the smallest tile does not fit.
            UntiledMemoryError: an UNTILED family's single image does not fit.
        """
        while True:
            try:
                return attempt(tile, batch)
            except torch.OutOfMemoryError:
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if batch > 1:
                    batch //= 2
                    continue
                smaller = self._smaller(tile, size)
                if smaller is None:
                    raise
                tile = smaller

    def _smaller(self, tile: int | None, size: tuple[int, int]) -> int | None:
        """The next tile to try after out-of-memory at batch 1 (``None``: none is left)."""
        h, w = size
        if not self.tiling.tileable:
            raise UntiledMemoryError(
                f"out of memory: {self.family} cannot be tiled (it uses image-wide statistics) "
                f"and a whole {w}x{h} image does not fit on this device; use a smaller image "
                "or a device with more memory"
            ) from None
        m = self.tiling.multiple
        current = tile if tile is not None else max(h, w)
        new = (current // 2 // m) * m
        if new < self.tiling.legal(MIN_TILE) or new >= current:
            return None
        warnings.warn(
            f"CUDA out of memory; retrying with {new}px tiles", RuntimeWarning, stacklevel=4
        )
        self.tile = new
        return new
