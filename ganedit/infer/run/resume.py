"""``skip_existing``: which existing outputs are still current, from the previous manifest.

The manifest records, per file, the input's size and modification time (``input_size``,
``input_mtime_ns``) and, per run, a ``fingerprint`` of every parameter that changes the
pixels (model, weights sha256, generator, config, outscale, self-ensemble, format, quality,
precision, accepting damaged files). The config's ``eval_only`` fields (settings of the
family's ``evaluate``) are left out: they never change a run's pixels. An existing output is
skipped only when

* the previous manifest's fingerprint is this run's (or there is none), and
* its record of the input (``done`` or ``skipped``) holds the input's current size and
  modification time, or, without such a record (an older manifest, or none), the output is
  newer than its input.

Otherwise the file is redone (and counted: :attr:`RunReport.redone`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ganedit.config import config_fields
from ganedit.io import MANIFEST_NAME, InputItem, Manifest

__all__ = ["FINGERPRINT_KEYS", "SkipCheck", "fingerprint", "input_stat"]

#: The manifest parameters whose change changes the output pixels.
FINGERPRINT_KEYS = (
    "generator",
    "config",
    "outscale",
    "self_ensemble",
    "format",
    "quality",
    "precision",
    "accept_damaged",
    "strip_metadata",
)


def fingerprint(
    model: str, weights_sha256: str | None, params: dict[str, Any], config_cls: type | None = None
) -> str:
    """A short hash of what decides the output pixels (module docstring): ``params``'
    :data:`FINGERPRINT_KEYS`, without the ``config`` fields ``config_cls`` marks
    ``eval_only``."""
    key = {k: params.get(k) for k in FINGERPRINT_KEYS}
    fields = config_fields(config_cls) if config_cls is not None else []
    eval_only = {f.name for f in fields if f.metadata.get("eval_only")}
    if eval_only and isinstance(key["config"], dict):
        key["config"] = {k: v for k, v in key["config"].items() if k not in eval_only}
    key.update(model=model, weights_sha256=weights_sha256)
    text = json.dumps(key, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def input_stat(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of an input file, or ``None`` when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns


class SkipCheck:
    """Decides whether an existing output is current (module docstring).

    Args:
        out_dir: the output folder (its ``ganedit-run.json`` is the previous run's manifest).
        current: this run's fingerprint.
    """

    def __init__(self, out_dir: Path, current: str) -> None:
        self.current = current
        self.previous: dict[str, dict[str, Any]] = {}
        self.previous_fingerprint: str | None = None
        try:
            old = Manifest.load(out_dir / MANIFEST_NAME)
        except (OSError, ValueError):
            return
        self.previous = old.by_input()
        self.previous_fingerprint = old.run.get("fingerprint")

    def is_current(self, item: InputItem, output: Path) -> bool:
        """True when ``output`` (which exists) is still ``item``'s current result."""
        if self.previous_fingerprint not in (None, self.current):
            return False  # the parameters changed: every output is redone
        now = input_stat(item.path)
        rec = self.previous.get(os.fspath(item.path))
        if rec is not None and rec.get("status") in ("done", "skipped") and "input_size" in rec:
            recorded = [rec.get("input_size"), rec.get("input_mtime_ns")]
            return now is not None and recorded == [now[0], now[1]]
        out = input_stat(output)
        return now is None or out is None or out[1] >= now[1]
