"""Jobs: one edit, one generation or one folder run, in a thread, with its event records.

A job keeps every record the runner sent to ``on_event`` (the records of ``ganedit run
--json``), in order; ``GET /api/jobs/ID/events`` streams them as server-sent events, from
the start or from ``Last-Event-ID``. Cancelling sets a flag: a folder run stops at its next
file record (:class:`JobCancelled` raised from ``on_event``; the pipeline finishes its manifest,
which then says ``interrupted``), and the job adds an ``end`` record of its own with
``"cancelled": true`` (the runner sends none when it is stopped). An edit that is still waiting
for its model is never started; one already running stops before the generator's next call (a
forward pre-hook, :func:`ganedit.serve.work.model_calls`: the next tile), and nothing is kept.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["KEEP_RESULTS", "Job", "JobCancelled", "Jobs", "cancelled_end"]


class JobCancelled(BaseException):
    """Raised from ``on_event`` to stop a run that was cancelled (a ``BaseException``, so the
    runner's per-file ``except Exception`` never mistakes it for one file's failure)."""


class Job:
    """One job's records and state.

    Attributes:
        id: random hex id (made by the server).
        kind: ``"edit"``, ``"generate"`` or ``"folder"``.
        model: the family name.
        folder: the job's private work folder (edits and generations), or ``None``.
        events: the records so far.
        status: ``"queued"``, ``"running"``, ``"done"``, ``"failed"`` or ``"cancelled"``.
        result: the file ganedit wrote (edits, generations), or ``None``.
        error: why it failed, or ``None``.
    """

    def __init__(self, kind: str, model: str, folder: Path | None = None) -> None:
        self.id = secrets.token_hex(8)
        self.kind, self.model, self.folder = kind, model, folder
        self.events: list[dict[str, Any]] = []
        self.status = "queued"
        self.result: Path | None = None
        self.error: str | None = None
        self.estimate: float | None = None
        self.progress: tuple[int, int] | None = None  # model calls (done, expected): edits
        self.created = time.monotonic()
        self._cancel = threading.Event()
        self._cond = threading.Condition()

    # ------------------------------------------------------------------------------ records
    def emit(self, event: dict[str, Any]) -> None:
        """Keep one record (JSON-safe: paths as strings)."""
        with self._cond:
            self.events.append({k: _plain(v) for k, v in event.items()})
            self._cond.notify_all()

    def on_event(self, event: dict[str, Any]) -> None:
        """The runner's ``on_event``: keep the record, then stop a cancelled run at a file
        record (:class:`JobCancelled`)."""
        self.emit(event)
        if self._cancel.is_set() and event.get("event") == "file":
            raise JobCancelled

    def since(self, index: int) -> tuple[list[dict[str, Any]], bool]:
        """``(records from index on, finished)``."""
        with self._cond:
            return list(self.events[index:]), self.finished

    # -------------------------------------------------------------------------------- state
    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop (module docstring)."""
        self._cancel.set()

    def finish(self, status: str, error: str | None = None) -> None:
        with self._cond:
            self.status, self.error = status, error
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.finished, timeout)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "model": self.model,
            "status": self.status,
            "error": self.error,
            "estimate_seconds": self.estimate,
            "progress": None if self.progress is None else list(self.progress),
            "result": None if self.result is None else f"/api/jobs/{self.id}/result",
            "events": len(self.events),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def cancelled_end(job: Job, output: str | None) -> dict[str, Any]:
    """The ``end`` record of a cancelled run, counted from its file records."""
    files = [e for e in job.events if e.get("event") == "file"]
    return {
        "event": "end",
        "model": job.model,
        "output": output,
        "done": sum(e.get("status") == "done" for e in files),
        "skipped": sum(e.get("status") == "skipped" for e in files),
        "failed": [
            {"input": e.get("input"), "error": e.get("error")}
            for e in files
            if e.get("status") == "failed"
        ],
        "cancelled": True,
        "interrupted": None,
    }


#: Finished edits and generations whose files are kept (older ones are deleted).
KEEP_RESULTS = 64


class Jobs:
    """Every job of this server, by id; each runs in its own daemon thread. The private
    folders of all but the last :data:`KEEP_RESULTS` finished edits are deleted."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, job: Job, work: Callable[[Job], None]) -> Job:
        """Register ``job`` and run ``work(job)`` in a thread; an exception that escapes
        ``work`` fails the job with its message."""

        def target() -> None:
            try:
                work(job)
            except JobCancelled:
                job.finish("cancelled")
            except Exception as exc:  # noqa: BLE001 - reported to the page, never lost
                job.emit({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
                job.finish("failed", f"{type(exc).__name__}: {exc}")
            else:
                if not job.finished:
                    job.finish("done")

        with self._lock:
            self._jobs[job.id] = job
        self.prune()
        threading.Thread(target=target, name=f"ganedit-job-{job.id}", daemon=True).start()
        return job

    def running(self) -> list[Job]:
        """The jobs not finished yet."""
        with self._lock:
            return [j for j in self._jobs.values() if not j.finished]

    def prune(self, keep: int = KEEP_RESULTS) -> None:
        """Delete the folders of finished jobs older than the newest ``keep``."""
        import shutil

        with self._lock:
            done = [j for j in self._jobs.values() if j.folder is not None and j.finished]
        done.sort(key=lambda j: j.created)
        for job in done[: max(0, len(done) - keep)]:
            folder, job.folder, job.result = job.folder, None, None
            shutil.rmtree(folder, ignore_errors=True)  # type: ignore[arg-type]
