"""The run manifest ``ganedit-run.json``: what a folder run did, file by file.

Written atomically and meant to be written repeatedly during a run (say every few seconds), so a
killed run still leaves a complete, valid manifest of the files done so far. Layout::

    {
      "manifest_version": 1,
      "model": "srgan", "weights": "...", "weights_sha256": "...",
      "parameters": {...},
      "versions": {"ganedit": "0.1.0", "torch": "2.5.1", "opencv": "5.0.0", "numpy": "...",
                   "python": "3.11.9"},
      "started": "2025-01-01T12:00:00+00:00", "finished": null,
      "counts": {"done": 10, "skipped": 2, "failed": 1, "total": 13},
      "extra": {...},
      "files": [{"input": "...", "output": "...", "status": "done", "error": null,
                 "seconds": 0.12}, ...]
    }
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from ganedit.io.atomic import atomic_write_bytes

__all__ = ["MANIFEST_NAME", "STATUSES", "Manifest", "library_versions"]

MANIFEST_NAME = "ganedit-run.json"
STATUSES = ("done", "skipped", "failed")
_VERSION = 1


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str | None]:
    """Versions of ganedit, torch, OpenCV, numpy and Python (``None`` when not installed).

    Uses package metadata, so torch is not imported just to learn its version.
    """

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:
        import cv2

        opencv: str | None = cv2.__version__
    except ImportError:  # pragma: no cover - cv2 is a dependency
        opencv = None
    from ganedit import __version__

    return {
        "ganedit": __version__,
        "torch": dist("torch"),
        "opencv": opencv,
        "numpy": dist("numpy"),
        "python": platform.python_version(),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    return str(value)


class Manifest:
    """Per-file records plus run-level fields, saved as JSON.

    Args:
        path: The JSON file (a path ending in ``.json``), or a folder (the file is then
            ``folder/ganedit-run.json``).
        model: Model family name.
        weights: Weights file used.
        weights_sha256: Its SHA-256.
        parameters: The run's options (JSON-able; paths become strings).

    Attributes:
        path: The JSON file.
        records: The per-file records, in the order added.
        run: Run-level fields (``model``, ``weights``, ``weights_sha256``, ``parameters``,
            ``versions``, ``started``, ``finished``, ``extra``); edit freely before ``write()``.

    Thread-safe: ``add`` and ``write`` may be called from several threads.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str | None = None,
        weights: str | os.PathLike[str] | None = None,
        weights_sha256: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        p = Path(path)
        # a ".json" path is the file itself, even when a folder of that name is in the way
        # (then writing fails and the runner reports it); any other path is its folder
        self.path = p if p.suffix.lower() == ".json" else p / MANIFEST_NAME
        self.records: list[dict[str, Any]] = []
        self.run: dict[str, Any] = {
            "model": model,
            "weights": None if weights is None else os.fspath(weights),
            "weights_sha256": weights_sha256,
            "parameters": _jsonable(parameters or {}),
            "versions": library_versions(),
            "started": _now(),
            "finished": None,
            "extra": {},
        }
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add one file's record and return it as stored.

        Args:
            record: ``input`` (required), ``output``, ``status`` (``"done"``, ``"skipped"`` or
                ``"failed"``; required), ``error`` (text or ``None``), ``seconds`` (float), and
                any other JSON-able keys.

        Raises:
            ValueError: ``input`` is missing or ``status`` is not one of the three.
        """
        if "input" not in record:
            raise ValueError("a manifest record needs an 'input'")
        status = record.get("status")
        if status not in STATUSES:
            raise ValueError(
                f"manifest record status must be one of {', '.join(STATUSES)}, got {status!r}"
            )
        stored = {"input": None, "output": None, "status": status, "error": None, "seconds": None}
        stored.update(_jsonable(record))
        with self._lock:
            self.records.append(stored)
        return stored

    def counts(self) -> dict[str, int]:
        """``{"done": n, "skipped": n, "failed": n, "total": n}``."""
        with self._lock:
            statuses = [r["status"] for r in self.records]
        out = {s: statuses.count(s) for s in STATUSES}
        out["total"] = len(statuses)
        return out

    def finish(self) -> None:
        """Stamp the end time (call before the last ``write()``)."""
        self.run["finished"] = _now()

    def to_dict(self) -> dict[str, Any]:
        """The whole manifest as a JSON-able dict."""
        counts = self.counts()
        with self._lock:
            files = [dict(r) for r in self.records]
        return {
            "manifest_version": _VERSION,
            **_jsonable(self.run),
            "counts": counts,
            "files": files,
        }

    def write(self) -> Path:
        """Write the manifest atomically (safe to call repeatedly) and return its path.

        Any file name is recorded losslessly: a name that is not valid UTF-8 (held by Python
        as lone surrogates, ``os.fsdecode``) is written as JSON ``\\udcXX`` escapes, which
        :func:`json.loads` reads back and :func:`os.fsencode` turns into the original bytes.

        Raises:
            OSError: the file could not be written (full disk, a folder in the way...).
        """
        data = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        # lone surrogates sit inside JSON strings only, so "\\udcXX" is a valid JSON escape
        raw = data.encode("utf-8", errors="backslashreplace")
        with self._lock:  # one writer at a time, so the newest state always lands last
            return atomic_write_bytes(self.path, raw)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a manifest written by :meth:`write` (``path``: the file or its folder).

        Raises:
            ValueError: The file is not a ganedit manifest (message names the file).
            FileNotFoundError: No such file.
        """
        p = Path(path)
        if p.is_dir():
            p = p / MANIFEST_NAME
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{str(p)!r} is not a valid manifest (bad JSON: {exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            raise ValueError(f"{str(p)!r} is not a ganedit run manifest (no 'files' list)")
        m = cls(p)
        m.run = {k: v for k, v in data.items() if k not in ("files", "counts", "manifest_version")}
        m.records = [dict(r) for r in data["files"]]
        return m

    def by_input(self) -> dict[str, dict[str, Any]]:
        """The last record for each input path (as a string), e.g. to resume a run."""
        with self._lock:
            return {str(r["input"]): r for r in self.records}
