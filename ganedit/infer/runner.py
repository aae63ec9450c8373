"""Folder inference: :func:`run_folder`.

The run is a pipeline of three stages joined by bounded queues, so memory stays flat however
many files there are:

1. **decode** (a thread pool of ``jobs`` workers; OpenCV releases the GIL): read + decode each
   file, and its mask for IMAGE_MASK families;
2. **device** (the calling thread): consecutive images of one size and layout are batched,
   copied through pinned memory on CUDA, run by :meth:`Editor.edit_pixels` (precision,
   channels_last, padding, tiling, OOM back-off) and quantised to uint8/uint16 on the device;
3. **encode + write** (a thread pool sized to the cores): encode with OpenCV and write
   atomically (temp file + rename), so an output file is either complete or absent.

Rules:

* Output paths mirror the inputs' relative paths under ``output``; the format is the input's
  unless ``format`` asks otherwise, and falls back to PNG (with a warning) when the format
  cannot hold the result's alpha or 16-bit depth (:func:`ganedit.io.output_format_for`).
* ``output`` equal to or inside an input folder is refused with a ``ValueError``; an output
  path that is an input file is never written (that file fails).
* A bad file (unreadable, empty, cut short, not an image, wrong mask size...) is recorded with
  its reason and the run goes on, unless ``fail_fast``. Inputs that do not exist are failures
  too; when *none* of the inputs exists the run is refused with a ``ValueError`` (a usage
  error) instead.
* ``skip_existing``: a file whose output exists is skipped. Writes are atomic, so an existing
  output is a complete one; stale temp files (``.<name>.*.ganedit-tmp``) left by a killed run
  are removed from the output tree at the start.
* The manifest ``ganedit-run.json`` in ``output`` (see :class:`ganedit.io.Manifest`) is
  rewritten every few seconds and at the end: status and error per file, model, weights and
  their sha256, the run's parameters, library versions.
* Under ``torchrun`` (``WORLD_SIZE`` > 1) rank ``r`` processes ``items[r::world]``, writes
  ``ganedit-run.rank<r>.json``, and rank 0 merges all parts into ``ganedit-run.json`` once
  every part is finished (it waits up to ``GANEDIT_MERGE_TIMEOUT`` seconds, default 600, and
  leaves the parts in place).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganedit.config import config_to_dict
from ganedit.editor import Editor, load
from ganedit.family import Kind, ModelFamily
from ganedit.infer.report import RunReport
from ganedit.io import (
    IMAGE_EXTENSIONS,
    MANIFEST_NAME,
    ImageReadError,
    ImageWriteError,
    InputItem,
    Manifest,
    check_output_location,
    encode_image,
    output_format_for,
    plan_output,
    read_image,
    walk_inputs,
)
from ganedit.io.atomic import TEMP_SUFFIX, atomic_write_bytes

__all__ = ["run_folder", "sweep_temp_files"]

#: Seconds between manifest rewrites during a run.
MANIFEST_EVERY = 2.0
#: Images held decoded but not yet batched, at most (per batch size).
MAX_PENDING_FACTOR = 2


@dataclass
class _Job:
    index: int
    item: InputItem
    started: float
    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    error: str | None = None


def _dist() -> tuple[int, int]:
    try:
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        rank = int(os.environ.get("RANK", "0") or 0)
    except ValueError:
        return 0, 1
    return (rank, world) if world > 1 and 0 <= rank < world else (0, 1)


def sweep_temp_files(out_dir: Path, owned: set[str] | None = None) -> int:
    """Remove stale atomic-write temp files (``.<name>.<random>.ganedit-tmp``) under
    ``out_dir``; with ``owned`` (real paths of target files) only those targeting one of them.
    Returns how many were removed."""
    removed = 0
    if not out_dir.is_dir():
        return 0
    for root, _dirs, files in os.walk(out_dir):
        for name in files:
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            target = name[1 : -len(TEMP_SUFFIX)].rsplit(".", 1)[0]
            if owned is not None and os.path.realpath(os.path.join(root, target)) not in owned:
                continue
            try:
                os.unlink(os.path.join(root, name))
                removed += 1
            except OSError:
                pass
    return removed


def _mask_to_bool(arr: np.ndarray) -> np.ndarray:
    """HxWxC uint8/uint16 mask image -> HxW bool (bright = fill)."""
    peak = 255 if arr.dtype == np.uint8 else 65535
    color = arr[..., :3] if arr.shape[-1] >= 3 else arr[..., :1]
    return color.max(axis=-1) > peak // 2


def _find_mask(masks_dir: Path, item: InputItem) -> Path | None:
    base = masks_dir / item.rel
    if base.is_file():
        return base
    for ext in sorted(IMAGE_EXTENSIONS):
        for cand in (base.with_suffix(ext), base.with_suffix(ext.upper())):
            if cand.is_file():
                return cand
    return None


def _decode(job: _Job, masks_dir: Path | None, shared_mask: np.ndarray | None) -> _Job:
    try:
        job.image = read_image(job.item.path)
        if masks_dir is not None:
            mp = _find_mask(masks_dir, job.item)
            if mp is None:
                raise ValueError(f"no mask for it under {masks_dir} (same relative path)")
            job.mask = _mask_to_bool(read_image(mp))
        elif shared_mask is not None:
            job.mask = shared_mask
        if job.mask is not None and job.mask.shape != job.image.shape[:2]:
            raise ValueError(
                f"mask is {job.mask.shape[1]}x{job.mask.shape[0]} but the image is "
                f"{job.image.shape[1]}x{job.image.shape[0]}"
            )
    except ImageReadError as exc:
        job.image = job.mask = None
        job.error = exc.reason
    except (ValueError, OSError, MemoryError) as exc:
        job.image = job.mask = None
        job.error = str(exc)
    return job


def _encode_write(path: Path, img: np.ndarray, quality: int | None) -> None:
    data = encode_image(img, path.suffix, quality=quality)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ImageWriteError(
            path, f"the file could not be written ({exc.strerror or exc})"
        ) from None


def _resolve_editor(
    model: str | ModelFamily | type[ModelFamily] | Editor,
    weights: Any,
    device: str,
    precision: str,
    runtime: dict[str, Any],
    options: dict[str, Any],
) -> Editor:
    if isinstance(model, Editor):
        if options:
            raise ValueError(
                f"config options {sorted(options)} cannot change an already loaded Editor"
            )
        for k, v in runtime.items():
            if v is not None:
                setattr(model, k, v)
        return model
    return load(model, weights=weights, device=device, precision=precision, **runtime, **options)


def run_folder(
    model: str | ModelFamily | type[ModelFamily] | Editor,
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    weights: str | os.PathLike[str] | bool | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    tile: int | str | None = None,
    tile_overlap: int = 32,
    outscale: float | None = None,
    self_ensemble: int | None = None,
    skip_existing: bool = False,
    fail_fast: bool = False,
    jobs: int | None = None,
    dry_run: bool = False,
    format: str | None = None,
    quality: int | None = None,
    progress: bool = True,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    mask: str | os.PathLike[str] | None = None,
    masks: str | os.PathLike[str] | None = None,
    **options: Any,
) -> RunReport:
    """Run an image model over files and folders, mirroring them into ``output``.

    See the module docstring for the rules (formats, skipping, failures, manifest, torchrun).

    Args:
        model: a family name, a :class:`ModelFamily` (instance or class), or a loaded
            :class:`Editor` (then ``weights``/``device``/``precision``/options are ignored).
        inputs: image files and/or folders (walked recursively; hidden files skipped).
        output: the output folder (created; must not be an input folder or inside one).
        weights, device, precision: as for :func:`ganedit.load`.
        batch_size: images per model call (``None``: chosen from the device memory).
        tile: tile size in input pixels, ``None``/``"auto"`` to tile only large images, ``0``
            to never tile.
        tile_overlap: input pixels shared by neighbouring tiles (blended).
        outscale: final size relative to the input (e.g. ``3.5`` with an x4 model): the
            model's result is resized (antialiased bicubic) to ``round(H * outscale)``;
            ``None``: the model's scale. See :func:`ganedit.load`.
        self_ensemble: average the model over 1, 2, 4 or 8 flipped/transposed views of each
            input (``None``: the Editor's setting, 1 = off for a new one). See
            :mod:`ganedit.infer.ensemble`.
        skip_existing: skip files whose output exists.
        fail_fast: stop at the first failed file (the default records it and goes on).
        jobs: decode workers (default: the CPU count).
        dry_run: list what would be done (``report.planned``, events, and lines on stdout when
            ``progress``); write nothing.
        format: output format (png, jpg, webp, bmp, tiff) instead of the input's.
        quality: JPEG/WebP quality 1-100.
        progress: show a progress bar (img/s, ETA) on stderr.
        on_event: called with a dict per event: ``{"event": "start", ...}``, ``{"event":
            "file", "status": "done"|"skipped"|"failed", "input", "output", "error",
            "seconds"}``, ``{"event": "warning", "message"}``, ``{"event": "plan", "input",
            "output", "action"}`` (dry run), ``{"event": "end", **report.to_dict()}``.
        mask: IMAGE_MASK families: one mask image used for every input (bright = fill).
        masks: IMAGE_MASK families: a folder of masks with the inputs' relative paths (any
            image extension).
        **options: Config fields of the family (e.g. ``scale=2``).

    Returns:
        A :class:`RunReport`; ``exit_code`` is 0 when nothing failed, else 1.

    Raises:
        ValueError: bad usage: the output folder is an input folder or inside one, none of the
            inputs exists, a GENERATE family, a mask problem, an unknown format.
    """
    t_start = time.monotonic()
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = [Path(p) for p in inputs]
    out_dir = Path(output)
    emit: Callable[[dict[str, Any]], None] = on_event or (lambda _e: None)
    rank, world = _dist()

    if not inputs:
        raise ValueError("no inputs given")
    check_output_location(inputs, out_dir)
    if format is not None:
        output_format_for(".png", format, has_alpha=False, bit_depth=8)  # validates the name
    walk = walk_inputs(inputs, exclude=[out_dir])
    if walk.missing and len(walk.missing) == len(inputs):
        raise ValueError(f"input not found: {', '.join(map(str, walk.missing))}")

    if world > 1 and device == "auto" and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank)) % torch.cuda.device_count()}"
    runtime = {
        "tile": tile,
        "tile_overlap": tile_overlap,
        "batch_size": batch_size,
        "outscale": outscale,
        "self_ensemble": self_ensemble,
    }
    editor = _resolve_editor(model, weights, device, precision, runtime, dict(options))
    family = editor.family
    if family.kind == Kind.GENERATE:
        raise ValueError(f"{family.name} generates images from noise; use `ganedit sample`")
    masks_dir = Path(masks) if masks is not None else None
    shared_mask = None
    if family.kind == Kind.IMAGE_MASK:
        if mask is None and masks_dir is None:
            raise ValueError(f"{family.name} needs masks: pass mask=FILE or masks=FOLDER")
        if masks_dir is not None and not masks_dir.is_dir():
            raise ValueError(f"masks folder {masks_dir} not found")
        if mask is not None:
            try:
                shared_mask = _mask_to_bool(read_image(mask))
            except ImageReadError as exc:
                raise ValueError(str(exc)) from None

    report = RunReport(model=family.name, output=out_dir)
    all_items = walk.items
    input_files = {os.path.realpath(it.path) for it in all_items}
    items = all_items[rank::world]
    index_of = {id(it): i for i, it in enumerate(items)}

    def primary(item: InputItem) -> Path:
        ext, _ = output_format_for(item.path.suffix, format, has_alpha=False, bit_depth=8)
        return plan_output(item, out_dir, ext)

    primaries = {primary(it): it for it in all_items}

    def existing_output(item: InputItem) -> Path | None:
        p = primary(item)
        if p.is_file():
            return p
        fallback = plan_output(item, out_dir, ".png")
        if fallback != p and fallback.is_file() and fallback not in primaries:
            return fallback
        return None

    parameters = {
        "inputs": [os.fspath(p) for p in inputs],
        "output": os.fspath(out_dir),
        "device": str(editor.device),
        "precision": editor.precision.name,
        "batch_size": batch_size,
        "tile": tile,
        "tile_overlap": tile_overlap,
        "outscale": editor.outscale,
        "self_ensemble": editor.self_ensemble,
        "format": format,
        "quality": quality,
        "skip_existing": skip_existing,
        "fail_fast": fail_fast,
        "options": dict(options),
        "config": config_to_dict(editor.config),
        "mask": None if mask is None else os.fspath(mask),
        "masks": None if masks is None else os.fspath(masks),
    }
    start_event = {
        "event": "start",
        "model": family.name,
        "output": os.fspath(out_dir),
        "total": len(items),
        "non_images": len(walk.non_images),
        "missing": [os.fspath(p) for p in walk.missing],
        "dry_run": dry_run,
        "rank": rank,
        "world_size": world,
        "device": str(editor.device),
        "precision": editor.precision.name,
    }
    emit(start_event)
    if editor.precision.note:
        report.warnings.append(editor.precision.note)
        emit({"event": "warning", "message": editor.precision.note})

    missing = walk.missing if rank == 0 else []

    # ----------------------------------------------------------------------------- dry run
    if dry_run:
        for p in missing:
            report.failed.append((p, "input not found"))
            emit(
                {
                    "event": "file",
                    "status": "failed",
                    "input": os.fspath(p),
                    "error": "input not found",
                }
            )
        for it in items:
            existing = existing_output(it) if skip_existing else None
            target = existing or primary(it)
            action = "skip" if existing else "process"
            if existing:
                report.skipped.append(it.path)
            else:
                report.planned.append((it.path, target))
            emit(
                {
                    "event": "plan",
                    "input": os.fspath(it.path),
                    "output": os.fspath(target),
                    "action": action,
                }
            )
            if progress:
                print(f"{'skip' if existing else 'run '}  {it.path} -> {target}", file=sys.stdout)
        report.seconds = time.monotonic() - t_start
        emit({"event": "end", **report.to_dict()})
        return report

    # ------------------------------------------------------------------------------- setup
    out_dir.mkdir(parents=True, exist_ok=True)
    part_name = MANIFEST_NAME if world == 1 else f"ganedit-run.rank{rank}.json"
    if world == 1:
        sweep_temp_files(out_dir)
    else:
        owned = {os.path.realpath(primary(it)) for it in items}
        owned |= {os.path.realpath(plan_output(it, out_dir, ".png")) for it in items}
        owned.add(os.path.realpath(out_dir / part_name))
        if rank == 0:
            owned.add(os.path.realpath(out_dir / MANIFEST_NAME))
        sweep_temp_files(out_dir, owned)
    manifest = Manifest(
        out_dir / part_name,
        model=family.name,
        weights=editor.weights_path,
        weights_sha256=editor.weights_sha256,
        parameters=parameters,
    )
    manifest.run["extra"] = {"rank": rank, "world_size": world, "non_images": len(walk.non_images)}

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(items) + len(missing),
        unit="img",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        desc=family.name,
    )
    results: dict[int, tuple[str, Path, Any]] = {}  # index -> (status, input, output/why)
    seen_warnings: set[str] = set()
    claimed: dict[Path, Path] = {}
    last_write = [time.monotonic()]
    stop = [False]

    def warn(message: str) -> None:
        if message not in seen_warnings:
            seen_warnings.add(message)
            report.warnings.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            emit({"event": "warning", "message": message})

    def record(
        index: int | None,
        item_path: Path,
        status: str,
        out: Path | None,
        error: str | None,
        started: float | None,
        warning: str | None = None,
    ) -> None:
        seconds = None if started is None else round(time.monotonic() - started, 4)
        rec = {
            "input": os.fspath(item_path),
            "output": None if out is None else os.fspath(out),
            "status": status,
            "error": error,
            "seconds": seconds,
        }
        if warning:
            rec["warning"] = warning
        manifest.add(rec)
        key = index if index is not None else -1 - len(results)
        results[key] = (status, item_path, error)
        emit({"event": "file", **rec})
        bar.update(1)
        if status == "failed" and fail_fast:
            stop[0] = True
        now = time.monotonic()
        if now - last_write[0] >= MANIFEST_EVERY:
            manifest.write()
            last_write[0] = now

    for p in missing:
        record(None, p, "failed", None, "input not found", None)

    work: list[InputItem] = []
    for it in items:
        existing = existing_output(it) if skip_existing else None
        if existing is not None:
            record(index_of[id(it)], it.path, "skipped", existing, None, None)
        else:
            work.append(it)

    jobs_n = max(1, int(jobs or os.cpu_count() or 1))
    enc_n = max(1, os.cpu_count() or 1)
    decode_pool = cf.ThreadPoolExecutor(jobs_n, thread_name_prefix="ganedit-decode")
    encode_pool = cf.ThreadPoolExecutor(enc_n, thread_name_prefix="ganedit-encode")
    pending_decode: collections.deque[cf.Future[_Job]] = collections.deque()
    pending_encode: collections.deque[tuple[cf.Future[None], _Job, Path, str | None]] = (
        collections.deque()
    )
    groups: dict[tuple, list[_Job]] = {}
    work_iter = iter(enumerate(work))
    prefetch = 2 * jobs_n + 2
    is_cuda = editor.device.type == "cuda"

    def finish_encode(block: bool) -> None:
        while pending_encode and (block or pending_encode[0][0].done()):
            fut, job, path, warning = pending_encode.popleft()
            try:
                fut.result()
            except ImageWriteError as exc:
                record(
                    index_of[id(job.item)], job.item.path, "failed", path, exc.reason, job.started
                )
            except Exception as exc:  # noqa: BLE001 - one bad file must not end the run
                record(
                    index_of[id(job.item)],
                    job.item.path,
                    "failed",
                    path,
                    f"{type(exc).__name__}: {exc}",
                    job.started,
                )
            else:
                record(
                    index_of[id(job.item)], job.item.path, "done", path, None, job.started, warning
                )

    def submit_encode(job: _Job, img: np.ndarray) -> None:
        ext, warning = output_format_for(
            job.item.path.suffix,
            format,
            has_alpha=img.ndim == 3 and img.shape[2] == 4,
            bit_depth=16 if img.dtype == np.uint16 else 8,
        )
        path = plan_output(job.item, out_dir, ext)
        if warning:
            warn(warning)
        real = os.path.realpath(path)
        if real in input_files:
            record(
                index_of[id(job.item)],
                job.item.path,
                "failed",
                path,
                f"its output {path} is an input file; refusing to overwrite it",
                job.started,
            )
            return
        other = claimed.get(path)
        if other is not None and other != job.item.path:
            record(
                index_of[id(job.item)],
                job.item.path,
                "failed",
                path,
                f"its output {path} would overwrite the output of {other}",
                job.started,
            )
            return
        claimed[path] = job.item.path
        while len(pending_encode) >= 2 * enc_n:
            finish_encode(block=False)
            if len(pending_encode) >= 2 * enc_n:
                cf.wait([pending_encode[0][0]])
        fut = encode_pool.submit(_encode_write, path, img, quality)
        pending_encode.append((fut, job, path, warning))

    def run_group(group: list[_Job]) -> None:
        arrays = [j.image for j in group]
        dtype = arrays[0].dtype  # type: ignore[union-attr]
        stacked = np.stack(arrays)  # type: ignore[arg-type]
        if dtype == np.uint16:
            stacked = stacked.astype(np.int32)  # uint16 tensors lack CPU kernels
        t = torch.from_numpy(stacked)
        if is_cuda:
            t = t.pin_memory()
        m = None
        if group[0].mask is not None:
            m = torch.from_numpy(np.stack([j.mask for j in group]))[:, None].float()  # type: ignore[misc]
            if is_cuda:
                m = m.pin_memory()
        for j in group:
            j.image = None
        try:
            out = editor.edit_pixels(t, m).cpu().numpy()
        except (RuntimeError, ValueError, MemoryError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            for j in group:
                record(
                    index_of[id(j.item)],
                    j.item.path,
                    "failed",
                    None,
                    f"model failed: {msg}",
                    j.started,
                )
            return
        out = out.astype(dtype, copy=False)
        for j, img in zip(group, out, strict=True):
            submit_encode(j, np.ascontiguousarray(img))
            if stop[0]:
                return

    def flush(key: tuple) -> None:
        group = groups.pop(key)
        if group and not stop[0]:
            run_group(group)

    def refill() -> None:
        while len(pending_decode) < prefetch and not stop[0]:
            try:
                _i, it = next(work_iter)
            except StopIteration:
                return
            job = _Job(index_of[id(it)], it, time.monotonic())
            pending_decode.append(decode_pool.submit(_decode, job, masks_dir, shared_mask))

    interrupted = False
    try:
        refill()
        while pending_decode and not stop[0]:
            job = pending_decode.popleft().result()
            refill()
            if job.error is not None or job.image is None:
                record(
                    job.index, job.item.path, "failed", None, job.error or "unreadable", job.started
                )
                continue
            img = job.image
            key = (img.shape, img.dtype.str, job.mask is not None)
            _tile, batch = editor.plan(img.shape[0], img.shape[1])
            if _tile is not None:
                batch = 1
            groups.setdefault(key, []).append(job)
            if len(groups[key]) >= batch:
                flush(key)
            held = sum(len(g) for g in groups.values())
            if held > MAX_PENDING_FACTOR * max(1, batch):
                flush(max(groups, key=lambda k: len(groups[k])))
            finish_encode(block=False)
        for key in list(groups):
            if stop[0]:
                break
            flush(key)
        finish_encode(block=True)
    except BaseException:
        interrupted = True
        raise
    finally:
        for f in pending_decode:
            f.cancel()
        decode_pool.shutdown(wait=True, cancel_futures=True)
        if not interrupted:
            finish_encode(block=True)
        encode_pool.shutdown(wait=True)
        bar.close()
        report.stopped_early = stop[0]
        manifest.run["extra"]["stopped_early"] = stop[0]
        manifest.run["extra"]["warnings"] = list(report.warnings)
        if interrupted:
            manifest.run["extra"]["interrupted"] = True
        manifest.finish()
        manifest.write()

    for index in sorted(results):
        status, path, why = results[index]
        if status == "done":
            report.done.append(path)
        elif status == "skipped":
            report.skipped.append(path)
        else:
            report.failed.append((path, str(why)))
    report.manifest_path = manifest.path
    if world > 1 and rank == 0:
        merged = _merge_parts(out_dir, world, manifest)
        if merged is not None:
            report.manifest_path = merged
    report.seconds = time.monotonic() - t_start
    emit({"event": "end", **report.to_dict()})
    return report


def _merge_parts(out_dir: Path, world: int, own: Manifest) -> Path | None:
    """Rank 0: wait for every rank's finished manifest part and merge them."""
    timeout = float(os.environ.get("GANEDIT_MERGE_TIMEOUT", "600"))
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    deadline = time.monotonic() + timeout
    parts = [out_dir / f"ganedit-run.rank{r}.json" for r in range(world)]
    loaded: list[Manifest] = []
    while True:
        loaded = []
        for p in parts:
            try:
                m = Manifest.load(p)
            except (OSError, ValueError, json.JSONDecodeError):
                break
            if not m.run.get("finished"):
                break
            loaded.append(m)
        if len(loaded) == world:
            break
        if time.monotonic() > deadline:
            warnings.warn(
                f"not every rank finished within {timeout:.0f}s; manifest parts left unmerged "
                f"in {out_dir}",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        time.sleep(0.5)
    merged = Manifest(
        out_dir / MANIFEST_NAME,
        model=own.run.get("model"),
        weights=own.run.get("weights"),
        weights_sha256=own.run.get("weights_sha256"),
        parameters=own.run.get("parameters"),
    )
    merged.run["started"] = min(str(m.run.get("started")) for m in loaded)
    merged.run["extra"] = {"world_size": world, "parts": [p.name for p in parts]}
    for m in loaded:
        merged.records.extend(m.records)
    merged.finish()
    return merged.write()
