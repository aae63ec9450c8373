"""The result of :func:`ganedit.infer.run_folder`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunReport"]


@dataclass
class RunReport:
    """What a folder run did.

    Attributes:
        done: Input files whose output was written.
        skipped: Input files left alone because their output already existed
            (``skip_existing``); in a dry run, the ones that *would* be skipped.
        failed: ``(input, reason)`` for every file that could not be processed (unreadable,
            not an image, missing, cannot be written, ...).
        planned: Dry run only: ``(input, output)`` pairs that would be processed.
        warnings: Distinct warnings (e.g. an output format changed to keep alpha).
        manifest_path: The run manifest (``None`` for a dry run).
        stopped_early: True when ``fail_fast`` stopped the run at the first failure.
        redone: Inputs whose existing output was redone (``skip_existing``) because the input
            or the run's parameters changed since it was written.
        manifest_error: ``"<manifest path>: <reason>"`` when the manifest could not be
            written (the exit code is then 1; ``manifest_path`` is then ``None``), or ``None``.
        interrupted: The signal (2 = SIGINT, 15 = SIGTERM) that stopped the run, or ``None``.
        seconds: Wall time of the run.
        model: The family name.
        output: The output folder.
    """

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    planned: list[tuple[Path, Path]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest_path: Path | None = None
    stopped_early: bool = False
    redone: list[Path] = field(default_factory=list)
    manifest_error: str | None = None
    interrupted: int | None = None
    seconds: float = 0.0
    model: str = ""
    output: Path | None = None

    @property
    def exit_code(self) -> int:
        """The CLI's exit status: ``128 + signal`` when a signal stopped the run (130 SIGINT,
        143 SIGTERM), else 1 when a file failed or the manifest could not be written, else 0."""
        if self.interrupted is not None:
            return 128 + int(self.interrupted)
        return 1 if self.failed or self.manifest_error else 0

    def settle_manifest(self) -> None:
        """Say a manifest that could not be written once, naming its path: ``manifest_error``
        becomes ``"<path>: <reason>"``, ``manifest_path`` ``None`` (there is no file to point
        at) and the warning the run gave about it leaves ``warnings``. A manifest written in
        the end is left as it is."""
        if not self.manifest_error or self.manifest_path is None:
            return
        path = os.fspath(self.manifest_path)
        self.warnings = [
            w for w in self.warnings if not (w.startswith("the manifest ") and path in w)
        ]
        self.manifest_error = f"{path}: {self.manifest_error}"
        self.manifest_path = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (paths as strings)."""
        return {
            "model": self.model,
            "output": None if self.output is None else os.fspath(self.output),
            "done": len(self.done),
            "skipped": len(self.skipped),
            "failed": [{"input": os.fspath(p), "error": why} for p, why in self.failed],
            "planned": [{"input": os.fspath(a), "output": os.fspath(b)} for a, b in self.planned],
            "warnings": list(self.warnings),
            "manifest": None if self.manifest_path is None else os.fspath(self.manifest_path),
            "stopped_early": self.stopped_early,
            "redone": len(self.redone),
            "manifest_error": self.manifest_error,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }
