"""The driver's own steps of a folder run, whatever the executor: how remote workers load
the editor (:func:`load_spec`), what ``skip_existing`` leaves to do (:func:`skip_and_work`),
output paths claimed before the work leaves this process (:func:`claim_outputs`), and under
torchrun rank 0's merge of the ranks' manifests (:func:`merge_parts`); a dry run's plan
(:func:`dry_run`)."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ganedit.config import config_to_dict
from ganedit.family import ModelFamily
from ganedit.infer.editor import Editor
from ganedit.infer.limits import env_number
from ganedit.infer.options import RunOptions
from ganedit.infer.run.executors import LoadSpec
from ganedit.infer.run.outputs import Outputs
from ganedit.infer.run.pipeline import RunEvents
from ganedit.infer.run.process import merge_manifests
from ganedit.infer.run.records import RecordBook
from ganedit.infer.run.resume import SkipCheck, input_stat
from ganedit.io import MANIFEST_NAME, Manifest

__all__ = ["claim_outputs", "dry_run", "load_spec", "merge_parts", "skip_and_work"]

Model = str | ModelFamily | type[ModelFamily] | Editor


def load_spec(
    model: Model, editor: Editor, opts: RunOptions, given: frozenset[str], config: dict[str, Any]
) -> LoadSpec:
    """How a remote worker loads this run's editor (by name when the family is registered)."""
    from ganedit.plugins import family_class

    family = editor.family
    try:
        named: str | type[ModelFamily] = family.name
        registered = family_class(family.name) is type(family)
    except KeyError:
        registered = False
    if not registered:
        named = type(family)
    editor_opts = {k: v for k, v in opts.stage("editor").items() if k in given}
    if isinstance(model, Editor):
        weights = editor.weights_path or False
        return LoadSpec(named, weights, opts.device, editor.precision.name, editor_opts,
                        config_to_dict(editor.config))  # fmt: skip
    return LoadSpec(named, opts.weights, opts.device, opts.precision, editor_opts, dict(config))


def skip_and_work(
    book: RecordBook, items: list, outputs: Outputs, skip: SkipCheck | None, opts: RunOptions
) -> list[tuple[int, Any]]:
    """Record the skipped items (``skip_existing``); the others with their index."""
    work = []
    for index, item in enumerate(items):
        existing = outputs.existing(item) if opts.skip_existing else None
        if existing is not None and (skip is None or skip.is_current(item, existing)):
            book.skipped(index, item, existing, input_stat(item.path))
            continue
        if existing is not None:
            book.redone.append(item.path)
        work.append((index, item))
    if book.redone:
        book.warn(
            f"{len(book.redone)} existing output(s) redone: their input or the run's "
            "parameters changed since they were written"
        )
    return work


def claim_outputs(
    book: RecordBook, work: list[tuple[int, Any]], outputs: Outputs
) -> list[tuple[int, Any]]:
    """For executors whose workers are other processes (they cannot see each other's output
    claims): each output path goes to the first input that maps onto it, and a later one fails
    here, with the reason the local pipeline gives."""
    kept = []
    for index, item in work:
        path = outputs.primary(item)
        refused = outputs.claim(item, path)
        if refused is None:
            kept.append((index, item))
            continue
        rec: dict[str, Any] = {"input": os.fspath(item.path), "output": os.fspath(path),
                               "status": "failed", "error": refused, "seconds": None}  # fmt: skip
        stat = input_stat(item.path)
        if stat is not None:
            rec["input_size"], rec["input_mtime_ns"] = stat
        book.record(index, rec)
    return kept


def _finished_parts(parts: list[Path]) -> list[Manifest] | None:
    """Every part's manifest when all of them are finished, else ``None``."""
    loaded = []
    for p in parts:
        try:
            m = Manifest.load(p)
        except (OSError, ValueError, json.JSONDecodeError):
            return None
        if not m.run.get("finished"):
            return None
        loaded.append(m)
    return loaded


def merge_parts(out_dir: Path, world: int, own: Manifest) -> Path | None:
    """Rank 0: wait for every rank's finished manifest part and merge them."""
    timeout = env_number("GANEDIT_MERGE_TIMEOUT", 600, integer=False, minimum=0)
    deadline = time.monotonic() + timeout
    parts = [out_dir / f"ganedit-run.rank{r}.json" for r in range(world)]
    while (loaded := _finished_parts(parts)) is None:
        if time.monotonic() > deadline:
            warnings.warn(
                f"not every rank finished within {timeout:.0f}s; manifest parts left unmerged "
                f"in {out_dir}",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        time.sleep(0.5)
    merged = merge_manifests(
        loaded,
        out_dir / MANIFEST_NAME,
        extra={"world_size": world, "parts": [p.name for p in parts]},
    )
    merged.run["fingerprint"] = own.run.get("fingerprint")
    try:
        return merged.write()
    except (OSError, ValueError) as exc:
        warnings.warn(f"the merged manifest could not be written: {exc}", RuntimeWarning, 3)
        return None


def dry_run(
    events: RunEvents,
    items: list,
    missing: list,
    skip: SkipCheck | None,
    outputs: Outputs,
    progress: bool,
) -> None:
    """List what would be done: ``report.planned`` / ``skipped`` / ``redone``, events,
    stdout lines (``skip`` decides for existing outputs; ``None``: no skipping)."""
    report = events.report
    for entry in missing:
        p, why = entry if isinstance(entry, tuple) else (entry, "input not found")
        report.failed.append((p, why))
        events.emit({"event": "file", "status": "failed", "input": os.fspath(p), "error": why})
    for it in items:
        found = outputs.existing(it) if skip is not None else None
        existing = found if found is not None and skip and skip.is_current(it, found) else None
        target = existing or outputs.primary(it)
        if existing:
            report.skipped.append(it.path)
        else:
            report.planned.append((it.path, target))
            if found is not None:
                report.redone.append(it.path)
        action = "skip" if existing else "process"
        events.emit(
            {
                "event": "plan",
                "input": os.fspath(it.path),
                "output": os.fspath(target),
                "action": action,
            }
        )
        if progress:
            line = f"{'skip' if existing else 'run '}  {it.path} -> {target}"
            print(line.encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stdout)
