"""The engine-agnostic seam of a folder run: items in, manifest records out.

:func:`process_items` (and :class:`ItemProcessor`, which keeps the output paths between calls)
runs the folder pipeline (:mod:`ganedit.infer.run.pipeline`: decode pool, batched model, encode
pool, atomic writes) over a given list of input files with an already loaded editor, and
returns one record per file. Every per-file problem (unreadable, not an image, no mask, too
large, the model failed on it, the output cannot be written...) is a ``failed`` record with its
reason; nothing is raised for a file. It knows nothing of locks, walks, manifests or
skipping: those stay with the one driver of a run (:func:`ganedit.run_folder`), which hands
the items to an executor (:mod:`ganedit.infer.run.executors`): local threads, torchrun ranks or
Ray actors all call this.

:func:`merge_manifests` joins manifests of one run written in parts (torchrun ranks, or a run
and its rerun): one record per input, the last wins unless it is a failure and an earlier one
is not.

Records are dicts: ``input``, ``output``, ``status`` (``"done"`` or ``"failed"``), ``error``,
``seconds``, and when known ``warning``, ``input_size``, ``input_mtime_ns``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ganedit.family import Kind
from ganedit.infer.editor import Editor
from ganedit.infer.options import RunOptions
from ganedit.infer.run.jobs import MaskSource
from ganedit.infer.run.outputs import Outputs
from ganedit.infer.run.pipeline import Pipeline
from ganedit.io import InputItem, Manifest

__all__ = ["ItemProcessor", "merge_manifests", "process_items"]


class _Collect:
    """A :class:`~ganedit.infer.run.pipeline.RecordSink` keeping the records by position and
    forwarding each to the caller's callbacks."""

    def __init__(
        self,
        on_record: Callable[[int, dict[str, Any]], None] | None,
        on_warning: Callable[[str], None] | None,
        on_choice: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.records: dict[int, dict[str, Any]] = {}
        self._on_record, self._on_warning, self._on_choice = on_record, on_warning, on_choice
        self._seen: set[str] = set()

    def record(self, position: int, rec: dict[str, Any]) -> None:
        self.records[position] = rec
        if self._on_record is not None:
            self._on_record(position, rec)

    def warn(self, message: str) -> None:
        if message not in self._seen and self._on_warning is not None:
            self._seen.add(message)
            self._on_warning(message)

    def choose(self, parameters: dict[str, Any]) -> None:
        if self._on_choice is not None:
            self._on_choice(parameters)


class ItemProcessor:
    """Process lists of input files into one output folder with one loaded editor.

    Keep one per worker: output paths already written by it are remembered, so two inputs
    that would write the same output are refused (the second fails) across its calls.

    Args:
        editor: a loaded :class:`~ganedit.infer.editor.Editor` (IMAGE or IMAGE_MASK family).
        options: the run's :class:`~ganedit.infer.options.RunOptions` (``format``,
            ``quality``, ``jobs``, ``fail_fast``, ``mask``/``masks``, ...).
        output: the output folder (outputs mirror each item's ``rel`` under it).
        all_items: every input of the run (default: none besides those given to
            :meth:`process`): never overwritten, and used to tell an input's PNG fallback
            from another input's output.
        protect: more files that must never be replaced (the mask files).
    """

    def __init__(
        self,
        editor: Editor,
        options: RunOptions,
        output: str | os.PathLike[str],
        *,
        all_items: Iterable[InputItem] = (),
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.editor, self.options = editor, options
        self.output = Path(output)
        self.masks = (
            MaskSource(options.mask, options.masks)
            if editor.family.kind is Kind.IMAGE_MASK
            else None
        )
        known = list(all_items)
        self.outputs = Outputs(self.output, options.format, known, map(Path, protect))
        self._known = set(known)

    def process(
        self,
        items: Sequence[InputItem],
        *,
        on_record: Callable[[int, dict[str, Any]], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_choice: Callable[[dict[str, Any]], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Process ``items`` in order; one record per item, in the items' order.

        Args:
            items: the files (``path``, and ``rel``: the output's relative path).
            on_record: ``on_record(position, record)`` as each file finishes (position in
                ``items``).
            on_warning: each distinct warning (a format fallback, lost metadata, ...).
            on_choice: ``{"threads": ...}`` when chosen at the first batch.
            stop: called between files; ``True`` starts no new file (those not started get
                no record: the result is then shorter than ``items``).

        Returns:
            The records of the files that were processed, in the order of ``items``.
        """
        fresh = [it for it in dict.fromkeys(items) if it not in self._known]
        if fresh:  # items outside all_items: protect them and know their outputs too
            extra = Outputs(self.output, self.options.format, fresh)
            self.outputs.primaries.update(extra.primaries)
            self.outputs.input_files |= extra.input_files
            self.outputs.input_ids |= extra.input_ids
            self._known.update(fresh)
        sink = _Collect(on_record, on_warning, on_choice)
        pipeline = Pipeline(
            self.editor,
            self.options,
            outputs=self.outputs,
            masks=self.masks,
            sink=sink,
            halt=stop,
        )
        pipeline.run(enumerate(items))
        return [sink.records[i] for i in sorted(sink.records)]


def process_items(
    editor: Editor,
    items: Sequence[InputItem],
    options: RunOptions | None = None,
    *,
    output: str | os.PathLike[str],
    all_items: Iterable[InputItem] = (),
    protect: Iterable[str | os.PathLike[str]] = (),
    on_record: Callable[[int, dict[str, Any]], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[dict[str, Any]]:
    """Run ``editor`` over ``items`` into ``output``: one record per file, never raising for
    a file (module docstring). One call of :meth:`ItemProcessor.process`.

    Example::

        from pathlib import Path
        import ganedit
        from ganedit.infer import process_items
        from ganedit.io import InputItem

        ed = ganedit.load("srgan", device="cpu")
        items = [InputItem(Path("in/a.png"), Path("a.png"))]
        for rec in process_items(ed, items, output="out"):
            print(rec["input"], rec["status"], rec["error"])

    Args:
        editor: a loaded :class:`~ganedit.infer.editor.Editor`.
        items: the files to process.
        options: the run's :class:`~ganedit.infer.options.RunOptions` (default: defaults).
        output: the output folder.
        all_items, protect: see :class:`ItemProcessor`.
        on_record, on_warning, stop: see :meth:`ItemProcessor.process`.
    """
    processor = ItemProcessor(
        editor, options or RunOptions(), output, all_items=all_items, protect=protect
    )
    return processor.process(items, on_record=on_record, on_warning=on_warning, stop=stop)


def _better(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when ``new`` should replace ``old`` for the same input (a failure never replaces
    a success)."""
    return not (new.get("status") == "failed" and old.get("status") != "failed")


def merge_manifests(
    parts: Sequence[Manifest], path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None
) -> Manifest:
    """One manifest from several parts of one run: one record per input, in the parts' order.

    For an input recorded more than once, the later record wins unless it is a failure and
    the earlier one is not. Run fields (model, weights, parameters, fingerprint) come from the
    first part, ``started`` is the earliest, and the result is finished (not written: call
    :meth:`~ganedit.io.Manifest.write`).

    Args:
        parts: the manifests (e.g. :meth:`Manifest.load` of each torchrun rank's part).
        path: the merged manifest's file (or folder).
        extra: the merged manifest's ``extra`` (default: the number of parts).

    Raises:
        ValueError: no parts.
    """
    if not parts:
        raise ValueError("merge_manifests needs at least one manifest")
    first = parts[0].run
    merged = Manifest(
        path,
        model=first.get("model"),
        weights=first.get("weights"),
        weights_sha256=first.get("weights_sha256"),
        parameters=first.get("parameters"),
    )
    merged.run["started"] = min(str(m.run.get("started")) for m in parts)
    merged.run["fingerprint"] = first.get("fingerprint")
    if "weights_card" in first:
        merged.run["weights_card"] = first["weights_card"]
    merged.run["extra"] = dict(extra) if extra is not None else {"parts": len(parts)}
    chosen: dict[str, dict[str, Any]] = {}
    for m in parts:
        for rec in m.records:
            key = str(rec.get("input"))
            if key not in chosen or _better(chosen[key], rec):
                chosen[key] = rec
    for rec in chosen.values():  # dicts keep the first insertion's place
        merged.add(rec)
    merged.finish()
    return merged
