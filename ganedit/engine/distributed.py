"""Distributed training and inference helpers (``torchrun`` sets RANK / WORLD_SIZE / LOCAL_RANK).

``torchrun --nproc_per_node=N -m ganedit train ...`` starts N processes; the engine calls
:func:`init_distributed` (NCCL on GPUs, gloo on the CPU), wraps the networks in DDP and lets only
rank 0 write files. The folder runner uses :func:`shard` so each file is processed once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "barrier", "broadcast_buffers", "dist_info", "init_distributed", "shard"]

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """This process's place: ``rank`` of ``world`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """The rank / world size from an initialised process group, else from the environment."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
        )
    return DistInfo(
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def shard(items: Sequence[T], rank: int | None = None, world: int | None = None) -> list[T]:
    """The items this rank handles: ``items[rank::world]`` (every item exactly once over all
    ranks). ``rank``/``world`` default to :func:`dist_info`."""
    info = dist_info()
    r = info.rank if rank is None else rank
    w = info.world if world is None else world
    if w < 1 or not 0 <= r < w:
        raise ValueError(f"bad rank {r} for world size {w}")
    return list(items[r::w])


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); no-op otherwise.

    Uses NCCL when ``device`` is a CUDA GPU, gloo otherwise.
    """
    info = dist_info()
    if info.world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
        info = dist_info()
    return info


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def broadcast_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Copy ``module``'s buffers (e.g. BatchNorm running stats) from rank ``src`` to all."""
    if dist.is_available() and dist.is_initialized():
        for b in module.buffers():
            dist.broadcast(b.data, src)
