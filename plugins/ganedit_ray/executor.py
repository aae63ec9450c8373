"""The ``ray`` executor: a folder run's files on a pool of Ray Data actors.

The driver (``ganedit run`` / :func:`ganedit.run_folder`) keeps the lock, the walk, skipping
and the manifest; this executor turns the files to process into a Ray dataset of their
indices and maps it with :class:`~ganedit_ray.worker.FileWorker` actors
(``map_batches(FileWorker, compute=ActorPoolStrategy(...), num_gpus=..., num_cpus=...)``):
Ray hands each batch to whichever actor is free (a slow node does not hold the others up),
restarts an actor that died and runs its batch again (Ray Data's defaults for actor pools:
``max_restarts=-1``, ``max_task_retries=-1``). The records stream back to the driver in its
own thread; a batch that ran twice gives a second record per file, which the driver drops
(one record per input). Outputs are written atomically by the actors, so a batch cut short
leaves only temp files, which the driver removes at the end.

Ray is imported only when a run uses this executor; without it the run is refused as a
usage error naming the ``ganedit[ray]`` extra. ``ray_address`` ``auto`` or ``HOST:PORT``
joins a running cluster; without it a local instance is started for the run (``RAY_ADDRESS``,
when set, is used as Ray does). The process's SIGINT/SIGTERM handlers are kept (``ray.init``
replaces SIGTERM's), so Ctrl-C stops the run cleanly: no new batch is taken, the records
received are kept, and the exit code is 130.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ganedit.infer import Executor, ExecutorOptions, ExecutorUnavailable, WorkOrder

__all__ = ["RayExecutor", "RayOptions", "check_workers"]

EXTRA = "pip install 'ganedit[ray]'"


def check_workers(value: Any) -> str:
    """``N`` (a fixed pool) or ``MIN:MAX`` (an autoscaling pool), positive integers."""
    text = str(value).strip()
    low, _, high = text.partition(":")
    try:
        lo, hi = int(low), int(high or low)
    except ValueError:
        lo = hi = 0
    if lo < 1 or hi < lo:
        raise ValueError(f"workers must be N or MIN:MAX (1 <= MIN <= MAX), got {value!r}")
    return text if high else str(lo)


@dataclass
class RayOptions(ExecutorOptions):
    """Options of the ``ray`` executor (``ganedit run ... --executor ray --workers 4``)."""

    ray_address: str | None = field(
        default=None,
        metadata={
            "help": "The Ray cluster to join: auto (the one this machine belongs to) or "
            "HOST:PORT [default: start a local Ray instance for the run].",
        },
    )
    workers: str = field(
        default="1",
        metadata={
            "help": "Actors, each holding the model: N, or MIN:MAX to let Ray Data scale the "
            "pool with the work.",
            "check": check_workers,
        },
    )
    gpus_per_worker: float | None = field(
        default=None,
        metadata={
            "help": "GPUs per actor (fractions share a GPU) [default: 1 when the cluster has "
            "GPUs, else 0].",
            "min": 0,
        },
    )
    cpus_per_worker: float = field(
        default=1.0,
        metadata={"help": "CPUs per actor (its decode/encode threads).", "min": 0},
    )
    worker_batch: int = field(
        default=16,
        metadata={
            "help": "Files per actor call: the unit Ray hands out and reruns after a failure.",
            "min": 1,
        },
    )


def _ray_missing() -> str | None:
    """Why Ray Data cannot be imported (without importing it), or ``None``."""
    for name in ("ray", "pyarrow"):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a module set to None in sys.modules
            found = None
        if found is None:
            return name
    return None


class RayExecutor(Executor):
    """Ray Data actors (module docstring)."""

    name = "ray"
    summary = "a pool of Ray Data actors, on this machine or a cluster (ganedit[ray])"
    Options = RayOptions
    options: RayOptions

    @classmethod
    def check_available(cls) -> None:
        missing = _ray_missing()
        if missing is not None:
            raise ExecutorUnavailable(
                f"--executor ray needs Ray Data ({missing} is not installed): {EXTRA}"
            )

    def run(self, order: WorkOrder, sink: Any) -> None:
        if not order.work:
            return
        try:
            import ray
            import ray.data
        except ImportError as exc:
            raise ExecutorUnavailable(f"--executor ray needs Ray Data ({exc}): {EXTRA}") from None
        try:
            with _session(ray, self.options.ray_address):
                _stream(ray, self._dataset(ray, order), sink)
        except Exception as exc:  # noqa: BLE001 - every input still gets its record
            _fail_rest(order, sink, exc)

    def _dataset(self, ray: Any, order: WorkOrder) -> Any:
        """The work's indices mapped by the actor pool."""
        from ganedit_ray.worker import FileWorker

        opts = self.options
        low, _, high = opts.workers.partition(":")
        pool = (
            ray.data.ActorPoolStrategy(min_size=int(low), max_size=int(high))
            if high
            else ray.data.ActorPoolStrategy(size=int(low))
        )
        gpus = opts.gpus_per_worker
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        spec = {
            "load": order.load,
            "options": order.options,
            "output": order.output,
            "protect": list(order.protect),
            "jobs": max(1, math.ceil(opts.cpus_per_worker)),
        }
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver shows its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        n = len(order.work)
        rows = [{"index": i} for i, _ in order.work]
        blocks = max(1, min(n, math.ceil(n / opts.worker_batch)))
        return ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            FileWorker,
            fn_constructor_kwargs={"spec": spec, "items": ray.put(order.items)},
            batch_size=opts.worker_batch,
            batch_format="numpy",
            compute=pool,
            num_cpus=opts.cpus_per_worker,
            num_gpus=gpus,
        )


def _stream(ray: Any, dataset: Any, sink: Any) -> None:
    """Hand each result row to the driver's sink as it arrives; stop taking batches once the
    sink is halted (a signal, ``fail_fast``)."""
    from ganedit_ray.worker import decode_rows

    batches = iter(dataset.iter_batches(batch_size=None, batch_format="numpy"))
    workers: dict[int, str] = {}
    try:
        for batch in batches:
            for index, record, notes in decode_rows(batch):
                for message in notes.get("warnings", ()):
                    sink.warn(message)
                if notes.get("choice"):
                    sink.choose(notes["choice"])
                if notes.get("worker"):
                    workers[notes["worker"]["pid"]] = notes["worker"]["device"]
                sink.record(index, record)
            if sink.halted():
                break
    finally:
        if hasattr(batches, "close"):
            batches.close()  # stops the streaming execution and its actors
        if workers:
            sink.choose({"worker_devices": sorted(set(workers.values()))})


def _fail_rest(order: WorkOrder, sink: Any, exc: BaseException) -> None:
    """The executor itself failed (a worker could not load the model, the cluster went
    away): every file without a record fails with the reason, and the run says it."""
    text = str(exc).strip().splitlines()
    why = f"the ray executor failed: {type(exc).__name__}: {text[0] if text else ''}"
    sink.warn(why)
    for index, item in order.work:
        if not sink.has(index):
            rec = {"input": os.fspath(item.path), "output": None, "status": "failed", "error": why}
            sink.record(index, rec)


@contextlib.contextmanager
def _session(ray: Any, address: str | None) -> Iterator[None]:
    """A Ray session for the run: joined (``address``) or a local instance, unless this
    process is connected already; the SIGINT/SIGTERM handlers in force are kept."""
    if ray.is_initialized():
        yield
        return
    main = threading.current_thread() is threading.main_thread()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} if main else {}
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    try:
        ray.init(address=address, **kwargs)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    try:
        yield
    finally:
        ray.shutdown()
