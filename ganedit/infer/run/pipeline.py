"""The three stages of a folder run, as one object: :class:`Pipeline`.

1. **decode** (a thread pool of ``jobs`` workers; OpenCV releases the GIL): read and decode
   each file and its mask (:func:`ganedit.infer.run.jobs.decode`), a bounded number ahead;
2. **device** (:class:`~ganedit.infer.run.model_stage.ModelStage`): consecutive images of one
   size and layout are batched (as many as :meth:`Editor.plan` allows; one at a time when
   tiled), copied through pinned memory on CUDA, run by :meth:`Editor.edit_pixels` and
   quantised on the device; in the calling thread, or several batches at once when the
   measured thread layout says so (``threads``). On CUDA the result goes back to the host
   by a non-blocking copy into pinned memory that overlaps the next batch
   (:mod:`ganedit.infer.run.transfer`);
3. **encode + write** (a thread pool of ``jobs`` workers, by default the cores this process
   may run on, :func:`usable_cpus`): encode with OpenCV and write atomically
   (:func:`ganedit.infer.run.outputs.encode_write`), a bounded number in flight.

Every file ends in exactly one record (done or failed, with its reason), handed to a
:class:`RecordSink` with the file's position: the driver's
:class:`~ganedit.infer.run.records.RecordBook` (manifest, events, progress bar) in a local run, a
list in :func:`ganedit.infer.run.process.process_items`. ``fail_fast`` stops at the first failure.
The pipeline knows nothing of manifests, skipping or executors.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ganedit.infer.editor import Editor
from ganedit.infer.limits import max_output_pixels
from ganedit.infer.options import RunOptions
from ganedit.infer.run.jobs import DecodeSettings, Job, MaskSource, decode
from ganedit.infer.run.model_stage import ModelStage
from ganedit.infer.run.outputs import Outputs, encode_write
from ganedit.infer.run.report import RunReport
from ganedit.infer.run.transfer import COPIES_IN_FLIGHT, HostCopy
from ganedit.infer.threads import ThreadChoice
from ganedit.io import ImageWriteError, InputItem, normalize_format
from ganedit.io.metadata import metadata_note

__all__ = ["MAX_PENDING_FACTOR", "Pipeline", "RecordSink", "RunEvents", "usable_cpus"]

#: Images held decoded but not yet batched, at most (per batch size).
MAX_PENDING_FACTOR = 2


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: a container's or a scheduler's
    share, e.g. one Ray or Slurm worker among several on a node), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


class RecordSink(Protocol):
    """Where the pipeline hands its results (the driver's record book, or a list)."""

    def record(self, position: int, rec: dict[str, Any]) -> None:
        """One file's final record; ``position`` is the file's index in the work given."""

    def warn(self, message: str) -> None:
        """A warning about the run (reported once per distinct message)."""

    def choose(self, parameters: dict[str, Any]) -> None:
        """Choices made at the first batch (``compile``, ``threads``), for the manifest."""


class RunEvents:
    """The event callback and the run's distinct warnings (kept in ``report.warnings``).

    Args:
        report: the :class:`RunReport` being filled.
        on_event: called with a dict per event, or ``None``.
    """

    def __init__(
        self, report: RunReport, on_event: Callable[[dict[str, Any]], None] | None
    ) -> None:
        self.report = report
        self._on_event = on_event
        self._seen: set[str] = set()

    def emit(self, event: dict[str, Any]) -> None:
        """Send one event to the callback."""
        if self._on_event is not None:
            self._on_event(event)

    def warn(self, message: str, *, python_warning: bool = True) -> None:
        """Report ``message`` once per run: report, event, and a ``RuntimeWarning``."""
        if message in self._seen:
            return
        self._seen.add(message)
        self.report.warnings.append(message)
        if python_warning:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        self.emit({"event": "warning", "message": message})


class Pipeline:
    """decode -> device -> encode for a list of files (module docstring).

    Args:
        editor: the loaded :class:`Editor` (an IMAGE or IMAGE_MASK family).
        options: the run's :class:`RunOptions` (``jobs``, ``fail_fast``, ``quality``,
            ``threads``, ``accept_damaged``, ``strip_metadata``).
        outputs: the run's output paths.
        masks: where masks come from (IMAGE_MASK), else ``None``.
        sink: receives every file's record, the warnings and the first-batch choices.
        halt: called between files; ``True`` stops starting new ones (a signal, or the
            driver's ``fail_fast``). ``None``: never.
    """

    def __init__(
        self,
        editor: Editor,
        options: RunOptions,
        *,
        outputs: Outputs,
        masks: MaskSource | None,
        sink: RecordSink,
        halt: Callable[[], bool] | None = None,
    ) -> None:
        self.editor, self.options, self.outputs = editor, options, outputs
        self.masks, self.sink = masks, sink
        self.stopped = False
        self.interrupted = False
        self._halt = halt
        workers = max(1, int(options.jobs or usable_cpus()))
        self.decode_workers = self.encode_workers = workers
        self._decoding: collections.deque[cf.Future[Job]] = collections.deque()
        self._encoding: collections.deque[tuple[cf.Future[None], Job, Path, str | None]] = (
            collections.deque()
        )
        self._groups: dict[tuple, list[Job]] = {}
        self._work: Iterator[tuple[int, InputItem]] = iter(())
        self.settings = DecodeSettings(
            accept_damaged=options.accept_damaged,
            metadata=not options.strip_metadata,
            output_size=editor.output_size,
            max_output=max_output_pixels(),
            scale=editor.outscale or editor.scale,
        )
        self._decode_pool = cf.ThreadPoolExecutor(self.decode_workers, "ganedit-decode")
        self._encode_pool = cf.ThreadPoolExecutor(self.encode_workers, "ganedit-encode")
        self.model = ModelStage(
            editor,
            options.threads,
            self._after_model,
            self._chose,
        )
        self.copies_in_flight = COPIES_IN_FLIGHT.get(editor.device.type, 0)
        self._copies: collections.deque[tuple[list[Job], Any, HostCopy]] = collections.deque()

    # -------------------------------------------------------------------------------- records
    def record(
        self,
        job: Job,
        status: str,
        out: Path | None = None,
        error: str | None = None,
        warning: str | None = None,
    ) -> None:
        """The one record of ``job``'s file, to the sink; ``fail_fast`` stops the run.

        The record holds the input's ``(size, mtime_ns)`` when it was read (``input_size``,
        ``input_mtime_ns``, for ``skip_existing``).
        """
        rec: dict[str, Any] = {
            "input": os.fspath(job.item.path),
            "output": None if out is None else os.fspath(out),
            "status": status,
            "error": error,
            "seconds": round(time.monotonic() - job.started, 4),
        }
        if warning:
            rec["warning"] = warning
        if job.stat is not None:
            rec["input_size"], rec["input_mtime_ns"] = job.stat
        self.sink.record(job.index, rec)
        if status == "failed" and self.options.fail_fast:
            self.stopped = True

    def warn(self, message: str) -> None:
        """A warning, to the sink."""
        self.sink.warn(message)

    def halted(self) -> bool:
        """True once ``fail_fast`` stopped the run or ``halt`` says to stop."""
        return self.stopped or (self._halt is not None and self._halt())

    def fail(self, job: Job, error: str, out: Path | None = None) -> None:
        """Record ``job`` as failed with ``error``."""
        self.record(job, "failed", out, error)

    # ------------------------------------------------------------------------------------ run
    def run(self, work: Iterable[tuple[int, InputItem]]) -> None:
        """Process ``work`` (``(position, item)`` pairs, in order); always stops the pools,
        also on Ctrl-C (a second signal)."""
        self._work = iter(work)
        try:
            self._loop()
        except BaseException:
            self.interrupted = True
            raise
        finally:
            self._close()

    def _loop(self) -> None:
        self._refill()
        while self._decoding and not self.halted():
            job = self._decoding.popleft().result()
            if self.halted():
                break
            self._refill()
            self._take(job)
            self._finish_encode(block=False)
        for key in list(self._groups):
            if self.halted():
                break
            self._flush(key)
        self.model.finish(0)
        self._finish_copies(0)
        self._finish_encode(block=True)

    def _refill(self) -> None:
        """Keep ``2 * workers + 2`` decodes queued."""
        while len(self._decoding) < 2 * self.decode_workers + 2 and not self.halted():
            nxt = next(self._work, None)
            if nxt is None:
                return
            job = Job(nxt[0], nxt[1], time.monotonic())
            self._decoding.append(self._decode_pool.submit(decode, job, self.masks, self.settings))

    def _take(self, job: Job) -> None:
        """A decoded job: fail it, or add it to its group and run groups that are full."""
        if job.error is not None or job.image is None:
            self.fail(job, job.error or "unreadable")
            return
        if (
            job.note
            and "mask resized" in job.note
            and self.masks is not None
            and self.masks.mask_path is not None
        ):
            self.warn(
                f"the mask {self.masks.mask_path} was resized (nearest) for images "
                "of another size (see each file's record)"
            )
        img = job.image
        key = (img.shape, img.dtype.str, job.mask is not None)
        tile, batch = self.editor.plan(img.shape[0], img.shape[1])
        batch = 1 if tile is not None else batch
        group = self._groups.setdefault(key, [])
        group.append(job)
        if len(group) >= batch:
            self._flush(key)
        if sum(len(g) for g in self._groups.values()) > MAX_PENDING_FACTOR * max(1, batch):
            self._flush(max(self._groups, key=lambda k: len(self._groups[k])))

    def _flush(self, key: tuple) -> None:
        group = self._groups.pop(key)
        if group and not self.halted():
            self._run_group(group)

    # --------------------------------------------------------------------------------- device
    def _host_batch(self, group: list[Job]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(N, H, W, C)`` integer images and ``(N, 1, H, W)`` bool masks (or ``None``),
        pinned on CUDA; the jobs drop their arrays."""
        stacked = np.stack([j.image for j in group])  # type: ignore[misc]
        if stacked.dtype == np.uint16:
            stacked = stacked.astype(np.int32)  # uint16 tensors lack CPU kernels
        images = torch.from_numpy(stacked)
        masks = None
        if group[0].mask is not None:
            stacked_masks = np.stack([j.mask for j in group])  # type: ignore[misc]
            masks = torch.from_numpy(stacked_masks)[:, None]
        if self.editor.device.type == "cuda":
            images = images.pin_memory()
            masks = None if masks is None else masks.pin_memory()
        for j in group:
            j.image = j.mask = None
        return images, masks

    def _run_group(self, group: list[Job]) -> None:
        """Hand one batch to the device stage; its outputs come back in :meth:`_after_model`."""
        dtype = group[0].image.dtype  # type: ignore[union-attr]
        h, w = group[0].image.shape[:2]  # type: ignore[union-attr]
        images, masks = self._host_batch(group)
        self.model.run((group, dtype), images, masks, (h, w))

    def _chose(self, threads: ThreadChoice) -> None:
        """Record the thread layout (chosen at the first batch) in the manifest."""
        self.sink.choose({"threads": threads.describe()})

    def _after_model(self, tag: tuple[list[Job], Any], result: Callable[[], torch.Tensor]) -> None:
        """Start a batch's copy to the host (:mod:`ganedit.infer.run.transfer`), or fail its files
        with the model's error; hand the copies that are done to the encoders."""
        group, dtype = tag
        try:
            copy = HostCopy(result())
        except (RuntimeError, ValueError, MemoryError) as exc:
            text = str(exc).strip()
            msg = text.splitlines()[0] if text else type(exc).__name__
            for j in group:
                self.fail(j, f"model failed: {msg}")
            return
        self._copies.append((group, dtype, copy))
        self._finish_copies(self.copies_in_flight)

    def _finish_copies(self, keep: int) -> None:
        """Encode the pending copies, oldest first, until ``keep`` remain (finished ones go
        early: their outputs need not wait)."""
        while self._copies and (len(self._copies) > keep or self._copies[0][2].ready()):
            group, dtype, copy = self._copies.popleft()
            out = copy.numpy().astype(dtype, copy=False)
            for j, img in zip(group, out, strict=True):
                self._submit_encode(j, np.ascontiguousarray(img))
                if self.stopped:
                    return

    # --------------------------------------------------------------------------------- encode
    def _submit_encode(self, job: Job, img: np.ndarray) -> None:
        path, warning = self.outputs.target(job.item, img)
        if warning:
            self.warn(warning)
        refused = self.outputs.claim(job.item, path)
        if refused is not None:
            self.fail(job, refused, path)
            return
        while len(self._encoding) >= 2 * self.encode_workers:
            self._finish_encode(block=False)
            if len(self._encoding) >= 2 * self.encode_workers:
                cf.wait([self._encoding[0][0]])
        lost = metadata_note(normalize_format(path.suffix) or "", job.metadata)
        if lost:
            self.warn(lost)
        fut = self._encode_pool.submit(encode_write, path, img, self.options.quality, job.metadata)
        note = "; ".join(w for w in (job.note, warning, lost) if w) or None
        self._encoding.append((fut, job, path, note))

    def _finish_encode(self, block: bool) -> None:
        """Record the finished writes (all of them when ``block``), in submission order."""
        while self._encoding and (block or self._encoding[0][0].done()):
            fut, job, path, note = self._encoding.popleft()
            try:
                fut.result()
            except ImageWriteError as exc:
                self.fail(job, exc.reason, path)
            except Exception as exc:  # noqa: BLE001 - one bad file must not end the run
                self.fail(job, f"{type(exc).__name__}: {exc}", path)
            else:
                self.record(job, "done", path, None, note)

    def _close(self) -> None:
        """Stop the pools, finishing queued writes unless interrupted."""
        for f in self._decoding:
            f.cancel()
        self._decode_pool.shutdown(wait=True, cancel_futures=True)
        self.model.close(finish=not self.interrupted)
        if not self.interrupted:
            self._finish_copies(0)
            self._finish_encode(block=True)
        self._encode_pool.shutdown(wait=True)
