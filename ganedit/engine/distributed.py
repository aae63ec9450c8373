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

__all__ = [
    "DistInfo",
    "DistributedEnvError",
    "barrier",
    "broadcast_buffers",
    "check_launcher",
    "dist_info",
    "init_distributed",
    "join_group",
    "shard",
]

#: Variables a launcher (torchrun / torch.distributed.run) sets besides WORLD_SIZE and RANK.
LAUNCHER_VARS = ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT")


class DistributedEnvError(ValueError):
    """``WORLD_SIZE``/``RANK`` say "distributed" but there is no process group to join."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise DistributedEnvError(
            f"environment variable {name}={raw!r} is not a whole number (torchrun sets it; "
            "unset it to run as a single process)"
        ) from None


def check_launcher() -> tuple[int, int]:
    """``(rank, world)`` from the environment, refusing one that no launcher set up.

    ``WORLD_SIZE`` > 1 inherited by a plain process (a shell or a job script that exported
    it) would make this process take only its share of the work and wait for ranks that never
    come. A real launch also sets ``TORCHELASTIC_RUN_ID`` (torchrun) or ``MASTER_ADDR`` and
    ``MASTER_PORT`` (the rendezvous of ``env://``); without them this is refused.

    Raises:
        DistributedEnvError: WORLD_SIZE > 1 without a launcher, or RANK outside the world.
    """
    world, rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0)
    if world <= 1:
        return 0, 1
    if not 0 <= rank < world:
        raise DistributedEnvError(f"RANK={rank} is outside WORLD_SIZE={world}")
    launched = bool(os.environ.get("TORCHELASTIC_RUN_ID")) or all(
        os.environ.get(v) for v in ("MASTER_ADDR", "MASTER_PORT")
    )
    if not launched:
        raise DistributedEnvError(
            f"WORLD_SIZE={world} and RANK={rank} are set, but this process was not started by "
            "torchrun (no TORCHELASTIC_RUN_ID, MASTER_ADDR or MASTER_PORT), so there is no "
            f"process group: this process would take only 1 file in {world}. Unset "
            "WORLD_SIZE and RANK to run as one process, or launch with "
            "`torchrun --nproc_per_node=N -m ganedit ...`"
        )
    return rank, world


def join_group(timeout_s: float) -> bool:
    """Join the gloo process group of a torchrun launch, waiting at most ``timeout_s`` for
    every rank (no-op when already joined or not distributed).

    Returns:
        True when this call created the group (the caller destroys it when done).

    Raises:
        DistributedEnvError: see :func:`check_launcher`, or the other ranks did not join in
            time.
    """
    import datetime

    rank, world = check_launcher()
    if world == 1 or (dist.is_available() and dist.is_initialized()):
        return False
    try:
        dist.init_process_group(
            "gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=timeout_s)
        )
    except Exception as exc:  # noqa: BLE001 - any rendezvous failure means: no real group
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DistributedEnvError(
            f"WORLD_SIZE={world}: could not join the other ranks' process group within "
            f"{timeout_s:g}s (GANEDIT_DIST_TIMEOUT) at {os.environ.get('MASTER_ADDR')}:"
            f"{os.environ.get('MASTER_PORT')} ({first}); unset WORLD_SIZE and RANK to run "
            "as one process"
        ) from None
    return True


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

    Raises:
        DistributedEnvError: WORLD_SIZE > 1 inherited without a launcher
            (:func:`check_launcher`).
    """
    check_launcher()
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
