"""The Ray actor of the ``ray`` executor: one loaded editor, a list of files per call.

Runs in a Ray worker process. Each actor loads the model once (:func:`ganedit.load`) on the
device Ray gave it (a GPU when the actor holds one: Ray sets ``CUDA_VISIBLE_DEVICES``, so it
is ``cuda``), and turns every call into one record per file with
:class:`ganedit.infer.ItemProcessor`; anything that goes wrong with a call that is not a
file's own problem fails that call's files with the reason, so the driver always gets a
record for each.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np

from ganedit.infer import ItemProcessor, LoadSpec, RunOptions
from ganedit.io import InputItem

__all__ = ["FileWorker", "decode_rows", "encode_rows"]


def _device(requested: str) -> str:
    """``auto``: the GPU Ray gave this actor, else the CPU; anything else as requested."""
    if requested != "auto":
        return requested
    import ray

    return "cuda" if ray.get_gpu_ids() else "cpu"


def encode_rows(
    indices: list[int], records: list[dict[str, Any]], notes: dict[str, Any]
) -> dict[str, np.ndarray]:
    """A batch of results as columns: ``index``, ``record`` (JSON; names that are not UTF-8
    travel as ``\\udcXX`` escapes) and ``notes`` (JSON, on the first row only: warnings and
    the worker's choices)."""
    first = json.dumps(notes)
    if not records:
        return {"index": np.zeros(0, np.int64), "record": np.zeros(0, object),
                "notes": np.zeros(0, object)}  # fmt: skip
    return {
        "index": np.asarray(indices, dtype=np.int64),
        "record": np.asarray([json.dumps(r) for r in records], dtype=object),
        "notes": np.asarray([first] + ["{}"] * (len(records) - 1), dtype=object),
    }


def decode_rows(batch: dict[str, Any]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """``(index, record, notes)`` for each row of a batch made by :func:`encode_rows`."""
    return [
        (int(i), json.loads(str(r)), json.loads(str(n)))
        for i, r, n in zip(batch["index"], batch["record"], batch["notes"], strict=True)
    ]


class FileWorker:
    """A Ray Data ``map_batches`` actor (module docstring).

    Args:
        spec: ``load`` (a :class:`ganedit.infer.LoadSpec`), ``options`` (the run's
            :class:`ganedit.RunOptions`), ``output`` (the folder), ``protect`` (mask files)
            and ``jobs`` (decode/encode threads when ``--jobs`` was not given).
        items: every input of the run, or a Ray ``ObjectRef`` to them (a batch names them
            by index).
    """

    def __init__(self, spec: dict[str, Any], items: Any) -> None:
        load: LoadSpec = spec["load"]
        options: RunOptions = spec["options"]
        if options.jobs is None:
            options = dataclasses.replace(options, jobs=spec["jobs"])
        if not isinstance(items, list):  # an ObjectRef: Ray Data passes constructor kwargs as is
            import ray

            items = ray.get(items)
        self.items = items
        self.editor = load.load(device=_device(load.device))
        self.processor = ItemProcessor(
            self.editor, options, spec["output"], all_items=items, protect=spec["protect"]
        )
        self.where = {"pid": os.getpid(), "device": str(self.editor.device)}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        indices = [int(i) for i in batch["index"]]
        items = [self.items[i] for i in indices]
        warnings: list[str] = []
        notes: dict[str, Any] = {"warnings": warnings, "choice": {}, "worker": self.where}
        got: dict[int, dict[str, Any]] = {}
        try:
            self.processor.process(
                items,
                on_record=got.__setitem__,
                on_warning=warnings.append,
                on_choice=notes["choice"].update,
            )
        except Exception as exc:  # noqa: BLE001 - the driver must get a record per file
            text = str(exc).strip().splitlines()
            why = f"the worker failed: {type(exc).__name__}: {text[0] if text else ''}"
            got.update({pos: _failed(it, why) for pos, it in enumerate(items) if pos not in got})
        done = sorted(got)  # fail_fast may leave files of the batch unstarted: no record
        return encode_rows([indices[p] for p in done], [got[p] for p in done], notes)


def _failed(item: InputItem, why: str) -> dict[str, Any]:
    return {"input": os.fspath(item.path), "output": None, "status": "failed", "error": why}
