"""The driver's side of a folder run: :class:`RecordBook`, one final record per input.

Whatever executes the work (the local pipeline, a torchrun rank, Ray actors), the records come
back to the one process that holds the output folder's lock, and the book

* keeps **exactly one record per input**: a second record for an input already recorded (an
  executor ran its batch again after a worker died) is dropped, unless it turns a failure
  into a success; the number of such repeats is kept in the manifest's ``extra.repeats``;
* adds it to the manifest, rewritten every :data:`MANIFEST_EVERY` seconds and at the end, so a
  killed driver still leaves a valid manifest of every file finished so far (writes are
  atomic). A rewrite costs time in proportion to the records (0.65 s at 10,000 on the
  project's 2-core EPYC), so the interval grows to :data:`MANIFEST_SHARE`'s inverse times the
  last rewrite: the driver never spends more than that share of its time rewriting, and a
  run of a million files does not turn quadratic;
* sends the ``file`` event and moves the progress bar (stderr);
* stops the run at the first failure under ``fail_fast``, or when a signal set ``stop``.

A manifest that cannot be written (full disk, a folder in its place) is reported once as a
warning and makes the exit code 1; the run goes on.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ganedit.infer.run.pipeline import RunEvents
from ganedit.infer.run.report import RunReport
from ganedit.infer.run.signals import StopFlag
from ganedit.io import InputItem, Manifest

__all__ = ["MANIFEST_EVERY", "MANIFEST_SHARE", "RecordBook"]

#: Seconds between manifest rewrites during a run (at least).
MANIFEST_EVERY = 2.0
#: The largest share of the driver's time spent rewriting the manifest during a run.
MANIFEST_SHARE = 0.1


class RecordBook:
    """Collects a run's records on the driver (module docstring).

    Args:
        manifest: the run's manifest (this rank's part under torchrun).
        events: the run's events and warnings.
        total: the number of records to expect (for the progress bar).
        progress: show a progress bar on stderr.
        fail_fast: stop at the first failed record.
        stop: set by SIGINT/SIGTERM (:mod:`ganedit.infer.run.signals`).
    """

    def __init__(
        self,
        manifest: Manifest,
        events: RunEvents,
        *,
        total: int,
        progress: bool,
        fail_fast: bool = False,
        stop: StopFlag | None = None,
    ) -> None:
        from tqdm.auto import tqdm

        self.manifest, self.events = manifest, events
        self.fail_fast = fail_fast
        self.stop = stop if stop is not None else StopFlag()
        self.results: dict[int, tuple[str, Path, str | None]] = {}
        self._rows: dict[int, int] = {}  # input index -> position in manifest.records
        self.repeats = 0
        self.stopped = False
        self.redone: list[Path] = []
        self.manifest_error: str | None = None
        self._last_write = time.monotonic()
        self._every = MANIFEST_EVERY
        self._bar = tqdm(
            total=total,
            unit="img",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
            desc=str(manifest.run.get("model") or "ganedit"),
        )

    # ----------------------------------------------------------------------- the sink's side
    def record(self, index: int | None, rec: dict[str, Any]) -> None:
        """The final record of input ``index`` (``None``: an input outside the work list, such
        as one that does not exist). A repeat is dropped unless it turns a failure into a
        success (then it replaces the failure)."""
        if index is not None and index in self._rows:
            self.repeats += 1
            row = self._rows[index]
            if self.manifest.records[row]["status"] == "failed" and rec["status"] != "failed":
                stored = self.manifest.add(rec)  # validated and normalised, then moved
                self.manifest.records.pop()
                self.manifest.records[row] = stored
                self.results[index] = (rec["status"], Path(rec["input"]), rec.get("error"))
            return
        self.manifest.add(rec)
        key = index if index is not None else -1 - len(self.results)
        self._rows[key] = len(self.manifest.records) - 1
        self.results[key] = (rec["status"], Path(rec["input"]), rec.get("error"))
        self.events.emit({"event": "file", **rec})
        self._bar.update(1)
        if rec["status"] == "failed" and self.fail_fast:
            self.stopped = True
        if time.monotonic() - self._last_write >= self._every:
            t0 = time.monotonic()
            self.write_manifest()
            self._last_write = now = time.monotonic()
            self._every = max(MANIFEST_EVERY, (now - t0) / MANIFEST_SHARE)

    def warn(self, message: str) -> None:
        """A run warning (once per distinct message)."""
        self.events.warn(message)

    def choose(self, parameters: dict[str, Any]) -> None:
        """Record choices made during the run in the manifest's ``parameters``."""
        self.manifest.run.setdefault("parameters", {}).update(parameters)

    def halted(self) -> bool:
        """True once ``fail_fast`` stopped the run or a signal asked it to stop."""
        return self.stopped or bool(self.stop)

    def has(self, index: int) -> bool:
        """True when input ``index`` has its record."""
        return index in self._rows

    # ----------------------------------------------------------------------- driver records
    def missing(self, entries: list[Path | tuple[Path, str]]) -> None:
        """Record inputs that do not exist (paths, or ``(path, reason)``) as failed."""
        for entry in entries:
            p, why = entry if isinstance(entry, tuple) else (entry, "input not found")
            rec = {"input": os.fspath(p), "output": None, "status": "failed", "error": why}
            self.record(None, rec)

    def skipped(self, index: int, item: InputItem, output: Path, stat: Any) -> None:
        """Record ``item`` (input ``index``) as skipped: its output ``output`` is current."""
        rec: dict[str, Any] = {
            "input": os.fspath(item.path),
            "output": os.fspath(output),
            "status": "skipped",
            "error": None,
            "seconds": None,
        }
        if stat is not None:
            rec["input_size"], rec["input_mtime_ns"] = stat
        self.record(index, rec)

    # -------------------------------------------------------------------------------- ending
    def write_manifest(self) -> None:
        """Rewrite the manifest; a failure (full disk, a folder in its place) is reported
        once as a warning and makes the run's exit code 1, but never stops the batch."""
        try:
            self.manifest.write()
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if self.manifest_error is None:
                self.warn(f"the manifest {self.manifest.path} could not be written: {reason}")
            self.manifest_error = reason
        else:
            self.manifest_error = None

    def close(self, interrupted: bool) -> None:
        """Close the progress bar, stamp the run's end (``extra``: stopped early, warnings,
        interrupted, signal, redone, repeats) and write the manifest."""
        self._bar.close()
        extra = self.manifest.run.setdefault("extra", {})
        extra["stopped_early"] = self.stopped
        extra["warnings"] = list(self.events.report.warnings)
        if interrupted or self.stop:
            extra["interrupted"] = True
        if self.stop.signum is not None:
            extra["signal"] = signal.Signals(self.stop.signum).name
        if self.redone:
            extra["redone"] = len(self.redone)
        if self.repeats:
            extra["repeats"] = self.repeats
        self.manifest.finish()
        self.write_manifest()

    def fill(self, report: RunReport) -> None:
        """Put the results, in input order (inputs that do not exist first), into ``report``."""
        for index in sorted(self.results):
            status, path, why = self.results[index]
            if status == "done":
                report.done.append(path)
            elif status == "skipped":
                report.skipped.append(path)
            else:
                report.failed.append((path, str(why)))
        report.stopped_early = self.stopped
        report.manifest_path = self.manifest.path
        report.redone = list(self.redone)
        report.manifest_error = self.manifest_error
        report.interrupted = self.stop.signum
