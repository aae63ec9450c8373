"""Folder inference: :func:`run_folder`, a short orchestration over the ``infer`` modules.

Validate the options (:class:`~ganedit.infer.options.RunOptions`), the executor and the paths,
walk the inputs, resolve the editor (:func:`~ganedit.infer.loading.load`), then list what would
be done (dry run) or lock the output folder, record what is missing or skipped, and hand the
rest to the executor (:mod:`ganedit.infer.run.executors`: ``local`` runs the
:class:`~ganedit.infer.run.pipeline.Pipeline` here, ``ray`` on Ray actors...), whose records come
back to this process's :class:`~ganedit.infer.run.records.RecordBook` (manifest, events, progress);
under torchrun merge the ranks' manifests (:func:`~ganedit.infer.run.process.merge_manifests`).

Rules:

* Output paths mirror the inputs' relative paths under ``output``; the format is the input's
  unless ``format`` asks otherwise, and falls back to PNG (with a warning) when the format
  cannot hold the result's alpha or 16-bit depth (:func:`ganedit.io.output_format_for`).
* ``output`` equal to or inside an input folder is refused with a ``ValueError``; an output
  path that is an input file is never written (that file fails), nor one that another input's
  output took.
* A bad file (unreadable, empty, cut short, not an image, no mask...) is recorded with its
  reason and the run goes on, unless ``fail_fast``. Inputs that do not exist are failures
  too; when *none* of the inputs exists the run is refused with a ``ValueError`` (a usage
  error) instead.
* IMAGE_MASK families take each image's mask from ``masks=DIR``, ``mask=FILE`` (resized,
  nearest, to an image of another size) or the image's transparent pixels
  (:mod:`ganedit.infer.run.jobs`).
* Tiles follow the family's tiling policy (:mod:`ganedit.infer.plan`): a tile the family
  cannot use exactly is rounded up, and a family that cannot be tiled runs whole; either is
  reported once as a warning.
* ``skip_existing``: a file whose output exists is skipped while it is current: its input's
  size and modification time and the run's parameters are those the previous manifest
  recorded (:mod:`ganedit.infer.run.resume`); otherwise it is redone and counted in
  ``report.redone``. Writes are atomic, so an existing output is a complete one; stale temp
  files (``.<name>.*.ganedit-tmp``) left by a killed run are removed at the start.
* Paths are compared by identity (device and inode): an output folder that is an input folder
  (or the masks folder) by any path is refused, and an output path that is an input or mask
  file (a hard link too) is never written.
* The output folder is locked while the run writes (:mod:`ganedit.infer.run.lock`); a second run
  into it is refused naming the first, a lock left by a killed run is taken over.
* SIGINT and SIGTERM (:mod:`ganedit.infer.run.signals`): no new file is started, the files in
  flight are finished, the manifest is written and the end event sent, then
  :class:`RunInterrupted` (a ``KeyboardInterrupt`` carrying the report) is raised; the CLI
  exits 130 / 143.
* Limits and environment variables (:mod:`ganedit.infer.limits`) are checked before any file
  is touched; an output over ``GANEDIT_MAX_OUTPUT_PIXELS`` fails that file before decoding.
* The manifest ``ganedit-run.json`` in ``output`` (see :class:`ganedit.io.Manifest`) is
  rewritten every few seconds and at the end: status and error per file, model, weights and
  their sha256, the run's parameters (every :class:`RunOptions` field, the resolved device,
  precision and config), library versions.
* Under ``torchrun`` (``WORLD_SIZE`` > 1, with the launcher's variables; inherited ones are
  refused, :func:`ganedit.engine.distributed.check_launcher`, and the ranks must join a
  process group within ``GANEDIT_DIST_TIMEOUT``) rank ``r`` processes ``items[r::world]``, writes
  ``ganedit-run.rank<r>.json``, and rank 0 merges all parts into ``ganedit-run.json`` once
  every part is finished (it waits up to ``GANEDIT_MERGE_TIMEOUT`` seconds, default 600, and
  leaves the parts in place). Each rank runs its share with the local executor; another
  executor under torchrun is refused.
* Executors other than ``local`` process the files elsewhere; this process alone keeps the
  lock, the walk, the input-identity check, skipping, the manifest (one record per input,
  also when an executor ran a batch twice), events and exit codes, and removes the temp
  files a killed worker left once the executor is done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ganedit.config import config_to_dict
from ganedit.engine.distributed import check_launcher, join_group
from ganedit.family import Kind, ModelFamily
from ganedit.hostmem import keep_freed_memory
from ganedit.infer.editor import Editor
from ganedit.infer.limits import check_environment, env_number
from ganedit.infer.loading import editor_option_names, load, resolve_family
from ganedit.infer.options import RunOptions, option_fields
from ganedit.infer.run.driver import (
    claim_outputs,
    dry_run,
    load_spec,
    merge_parts,
    skip_and_work,
)
from ganedit.infer.run.executors import Executor, WorkOrder, make_executor
from ganedit.infer.run.jobs import MaskSource
from ganedit.infer.run.lock import LOCK_NAME, FolderLock
from ganedit.infer.run.outputs import Outputs, sweep_temp_files
from ganedit.infer.run.pipeline import RunEvents
from ganedit.infer.run.records import RecordBook
from ganedit.infer.run.report import RunReport
from ganedit.infer.run.resume import SkipCheck, fingerprint
from ganedit.infer.run.signals import RunInterrupted, graceful_stop
from ganedit.io import MANIFEST_NAME, Manifest, WalkResult, check_output_location, walk_inputs
from ganedit.io import output_format_for as _output_format_for
from ganedit.weights import card_provenance

__all__ = ["RunInterrupted", "run_folder", "sweep_temp_files"]

Model = str | ModelFamily | type[ModelFamily] | Editor


def _dist() -> tuple[int, int]:
    """``(rank, world_size)`` under torchrun, else ``(0, 1)``.

    Raises:
        DistributedEnvError: ``WORLD_SIZE`` > 1 without a launcher (a ``ValueError``).
    """
    return check_launcher()


def _check_kind(family: ModelFamily, given: frozenset[str]) -> None:
    """Refuse GENERATE families and options that do not apply to this family's kind."""
    if family.kind == Kind.GENERATE:
        raise ValueError(f"{family.name} generates images from noise; use `ganedit sample`")
    applicable = {f.name for f in option_fields(RunOptions, kind=family.kind)}
    wrong = sorted(given - applicable)
    if wrong:
        raise ValueError(
            f"{', '.join(wrong)}: not an option for {family.name}, an {family.kind.value} model "
            "(masks are for image_mask models)"
            if set(wrong) <= {"mask", "masks"}
            else f"{', '.join(wrong)}: not an option for {family.kind.value} models"
        )


def _walk(inputs: list[Path], out_dir: Path, fmt: str | None) -> WalkResult:
    """Check the output folder and the format, and walk the inputs."""
    if not inputs:
        raise ValueError("no inputs given")
    check_output_location(inputs, out_dir)
    if fmt is not None:
        _output_format_for(".png", fmt, has_alpha=False, bit_depth=8)  # validates the name
    walk = walk_inputs(inputs, exclude=[out_dir])
    if walk.missing and len(walk.missing) == len(inputs):
        raise ValueError(f"input not found: {', '.join(map(str, walk.missing))}")
    return walk


def _paths(inputs: Any, output: Any) -> tuple[list[Path], Path]:
    """``inputs`` and ``output`` as paths; a ``TypeError`` naming the argument otherwise."""
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output: expected a folder path, got {type(output).__name__}")
    if isinstance(inputs, (str, os.PathLike)):
        return [Path(inputs)], Path(output)
    try:
        listed = list(inputs)
    except TypeError:
        raise TypeError(
            f"inputs: expected a path or a list of paths, got {type(inputs).__name__}"
        ) from None
    wrong = [type(p).__name__ for p in listed if not isinstance(p, (str, os.PathLike))]
    if wrong:
        raise TypeError(f"inputs: every input must be a path, got {', '.join(wrong)}")
    return [Path(p) for p in listed], Path(output)


def _mask_files(masks: MaskSource | None, out_dir: Path) -> list[Path]:
    """The mask files of the run, never to be replaced; an output folder that is the masks
    folder (or inside it) is refused like one that is an input folder."""
    if masks is None:
        return []
    files = [] if masks.mask_path is None else [masks.mask_path]
    if masks.masks_dir is not None:
        check_output_location([masks.masks_dir], out_dir, excluded=True)
        files += [i.path for i in walk_inputs([masks.masks_dir]).items]
    return files


def _editor(
    model: Model, opts: RunOptions, given: frozenset[str], config: dict[str, Any], world: int
) -> Editor:
    """The loaded editor, or ``model`` itself with the runtime options that were given."""
    editor_opts = {k: v for k, v in opts.stage("editor").items() if k in given}
    if isinstance(model, Editor):
        fixed = sorted(set(config) | (given & set(opts.stage("load"))))
        if fixed:
            raise ValueError(
                f"{', '.join(fixed)} cannot change an already loaded Editor; pass the model's "
                "name to run_folder, or give these to ganedit.load()"
            )
        for k, v in editor_opts.items():
            setattr(model, k, v)
        return model
    device = opts.device
    if world > 1 and device == "auto" and torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))
        device = f"cuda:{local % torch.cuda.device_count()}"
    return load(
        model,
        weights=opts.weights,
        device=device,
        precision=opts.precision,
        **editor_opts,
        **config,
    )


def _parameters(
    editor: Editor, opts: RunOptions, inputs: list[Path], out_dir: Path, config: dict[str, Any]
) -> dict[str, Any]:
    """The manifest's ``parameters``: every run option, with the editor's effective values."""
    params: dict[str, Any] = {
        "inputs": [os.fspath(p) for p in inputs],
        "output": os.fspath(out_dir),
    }
    params.update(opts.parameters())
    params.update({name: getattr(editor, name) for name in editor_option_names()})
    params.update(
        device=str(editor.device),
        precision=editor.precision.name,
        precision_choice=editor.precision.describe(),
        memory=editor.memory.describe(),
        generator=editor.generator_name,
        tiling={"tile": editor.tiling.tile, "overlap": editor.tiling.overlap},
        options=dict(config),
        config=config_to_dict(editor.config),
    )
    return params


def _start(events: RunEvents, editor: Editor, walk: WalkResult, n: int, dry: bool) -> None:
    """The ``start`` event, then the precision and tiling notes as warnings."""
    rank, world = _dist()
    events.emit(
        {
            "event": "start",
            "model": editor.family.name,
            "output": str(events.report.output),
            "total": n,
            "non_images": len(walk.non_images),
            "missing": [os.fspath(p) for p in walk.missing],
            "dry_run": dry,
            "rank": rank,
            "world_size": world,
            "device": str(editor.device),
            "precision": editor.precision.name,
        }
    )
    if editor.precision.note:  # load() warned already
        events.warn(editor.precision.note, python_warning=False)
    for note in editor.pending_notes():
        events.warn(note)


def _manifest(
    editor: Editor,
    out_dir: Path,
    params: dict[str, Any],
    outputs: Outputs,
    items: list,
    n_non_images: int,
) -> Manifest:
    """Create the output folder, sweep this rank's stale temp files, open its manifest."""
    rank, world = _dist()
    out_dir.mkdir(parents=True, exist_ok=True)
    part = MANIFEST_NAME if world == 1 else f"ganedit-run.rank{rank}.json"
    if world == 1:
        sweep_temp_files(out_dir)
    else:
        owned = outputs.owned(items) | {os.path.realpath(out_dir / part)}
        if rank == 0:
            owned.add(os.path.realpath(out_dir / MANIFEST_NAME))
        sweep_temp_files(out_dir, owned)
    manifest = Manifest(
        out_dir / part,
        model=editor.family.name,
        weights=editor.weights_path,
        weights_sha256=editor.weights_sha256,
        parameters=params,
    )
    manifest.run["extra"] = {"rank": rank, "world_size": world, "non_images": n_non_images}
    manifest.run["weights_card"] = card_provenance(editor.card)  # licence, source (imports)
    return manifest


def run_folder(
    model: Model,
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    progress: bool = True,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    executor: str | Executor = "local",
    executor_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunReport:
    """Run an image model over files and folders, mirroring them into ``output``.

    See the module docstring for the rules (formats, skipping, failures, masks, tiling,
    manifest, torchrun).

    Args:
        model: a family name, a :class:`ModelFamily` (instance or class), or a loaded
            :class:`Editor` (then ``weights``/``device``/``precision`` and Config fields are
            not accepted; the runtime options given are set on it).
        inputs: image files and/or folders (walked recursively; hidden files skipped).
        output: the output folder (created; must not be an input folder or inside one).
        progress: show a progress bar (img/s, ETA) on stderr; in a dry run, print the plan.
        on_event: called with a dict per event: ``{"event": "start", ...}``, ``{"event":
            "file", "status": "done"|"skipped"|"failed", "input", "output", "error",
            "seconds"}``, ``{"event": "warning", "message"}``, ``{"event": "plan", "input",
            "output", "action"}`` (dry run), ``{"event": "end", **report.to_dict()}``.
        executor: where the files are processed: ``"local"`` (this process), the name of an
            executor a plugin registered (``"ray"`` with the ``ganedit[ray]`` extra), or an
            :class:`~ganedit.infer.run.executors.Executor` instance.
        executor_options: the named executor's options (its ``Options`` fields, e.g.
            ``{"workers": "2", "ray_address": "auto"}``).
        **options: every field of :class:`~ganedit.infer.options.RunOptions` (``weights``,
            ``device``, ``precision``, ``batch_size``, ``tile``, ``tile_overlap``,
            ``outscale``, ``self_ensemble``, ``skip_existing``, ``fail_fast``, ``jobs``,
            ``dry_run``, ``format``, ``quality``, and for IMAGE_MASK families ``mask`` and
            ``masks``; see each field's help), and Config fields of the family (e.g.
            ``scale=2``).

    Returns:
        A :class:`RunReport`; ``exit_code`` is 0 when nothing failed, else 1 (also when the
        manifest could not be written).

    Raises:
        ValueError: bad usage: an unknown option (``ConfigError``), an invalid option value,
            the output folder is an input folder or inside one (by any path), none of the
            inputs exists, a GENERATE family, mask options for a family without masks, an
            unknown format, a bad environment variable (``EnvVarError``), ``WORLD_SIZE``
            without a launcher (``DistributedEnvError``), the output folder is locked by
            another run (``OutputLocked``), an unknown executor or one whose package is not
            installed (``ExecutorUnavailable``), an executor other than local under torchrun.
        RunInterrupted: SIGINT or SIGTERM stopped the run after it finished cleanly
            (``.report``, ``.exit_code`` 130 / 143).
    """
    t_start = time.monotonic()
    run = _prepare(model, inputs, output, options, executor, executor_options, on_event)
    if run.order.options.dry_run:
        _plan(run, progress)
    else:
        with _process_group(run.world):
            _start(run.events, run.order.editor, run.walk, len(run.items), False)
            _process(run, progress)
    report = run.events.report
    report.seconds = time.monotonic() - t_start
    run.events.emit({"event": "end", **report.to_dict()})
    if report.interrupted is not None:
        raise RunInterrupted(report.interrupted, report)
    return report


@dataclasses.dataclass
class _FolderRun:
    """One :func:`run_folder` call, set up and not started (what :func:`_prepare` returns).

    Attributes:
        runner: the executor.
        order: the work order handed to it (editor, load spec, options, output folder, all
            inputs; its ``work`` is filled once skipping is decided).
        where: ``(input paths, output folder, the Config fields given)``.
        outputs: the output paths of every input (all ranks'), mask files protected.
        items: this rank's share of the inputs.
        missing: inputs not found or refused (rank 0 reports them; others: empty).
        walk: the walk of the inputs.
        events: the run's events; ``events.report`` the report being filled.
        world: the torchrun world size (1 without torchrun).
    """

    runner: Executor
    order: WorkOrder
    where: tuple[list[Path], Path, dict[str, Any]]
    outputs: Outputs
    items: list
    missing: list
    walk: WalkResult
    events: RunEvents
    world: int


def _prepare(
    model: Model,
    inputs: Any,
    output: Any,
    options: dict[str, Any],
    executor: str | Executor,
    executor_options: Mapping[str, Any] | None,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> _FolderRun:
    """Check the options, executor, paths and environment, walk the inputs and load the
    editor: everything :func:`run_folder` raises ``ValueError`` for is raised here."""
    check_environment()
    family = model.family if isinstance(model, Editor) else resolve_family(model)
    opts, config, given = RunOptions.parse(options, family.Config)
    _check_kind(family, given)
    runner = make_executor(executor, executor_options)
    paths, out_dir = _paths(inputs, output)
    walk = _walk(paths, out_dir, opts.format)
    rank, world = _dist()
    if world > 1 and runner.name != "local":
        raise ValueError(f"under torchrun each rank runs its share locally; not {runner.name}")
    editor = _editor(model, opts, given, config, world)
    masks = MaskSource(opts.mask, opts.masks) if family.kind is Kind.IMAGE_MASK else None
    report = RunReport(model=family.name, output=out_dir)
    events = RunEvents(report, on_event)
    items = walk.items[rank::world]
    missing: list = [*walk.missing, *walk.refused] if rank == 0 else []
    protect = _mask_files(masks, out_dir)
    outputs = Outputs(out_dir, opts.format, walk.items, protect)
    spec = load_spec(model, editor, opts, given, config)
    order = WorkOrder(editor, spec, opts, out_dir, walk.items, [], protect)
    where = (paths, out_dir, config)
    return _FolderRun(runner, order, where, outputs, items, missing, walk, events, world)


def _plan(run: _FolderRun, progress: bool) -> None:
    """A dry run: the ``start`` event, then what would be done (:func:`~ganedit.infer.run.driver.dry_run`)."""
    editor, opts = run.order.editor, run.order.options
    paths, out_dir, config = run.where
    _start(run.events, editor, run.walk, len(run.items), True)
    params = _parameters(editor, opts, paths, out_dir, config)
    key = fingerprint(editor.family.name, editor.weights_sha256, params, type(editor.config))
    skip = SkipCheck(out_dir, key) if opts.skip_existing else None
    dry_run(run.events, run.items, run.missing, skip, run.outputs, progress)


@contextlib.contextmanager
def _process_group(world: int) -> Iterator[None]:
    """Inside the torchrun process group: joined here when ``world`` > 1 and not joined yet,
    and left afterwards."""
    created = (
        join_group(env_number("GANEDIT_DIST_TIMEOUT", 60, integer=False)) if world > 1 else False
    )
    try:
        yield
    finally:
        if created:
            torch.distributed.destroy_process_group()


def _process(run: _FolderRun, progress: bool) -> None:
    """Lock the output folder, hand this rank's share to the executor, fill the report."""
    paths, out_dir, config = run.where
    runner, order, outputs, events = run.runner, run.order, run.outputs, run.events
    editor, opts = order.editor, order.options
    items, missing = run.items, run.missing
    rank, world = _dist()
    report = events.report
    params = _parameters(editor, opts, paths, out_dir, config)
    key = fingerprint(editor.family.name, editor.weights_sha256, params, type(editor.config))
    skip = SkipCheck(out_dir, key) if opts.skip_existing else None
    params["executor"] = runner.parameters()
    reuse = opts.heap_reuse and editor.device.type == "cpu"
    params["host_memory"] = (keep_freed_memory() if reuse else None) or "system default"
    out_dir.mkdir(parents=True, exist_ok=True)
    lock_name = LOCK_NAME if rank == 0 else f".ganedit-run.rank{rank}.lock"
    with FolderLock(out_dir, lock_name), graceful_stop() as stop:
        manifest = _manifest(editor, out_dir, params, outputs, items, len(run.walk.non_images))
        manifest.run["fingerprint"] = key
        book = RecordBook(
            manifest,
            events,
            total=len(items) + len(missing),
            progress=progress,
            fail_fast=opts.fail_fast,
            stop=stop,
        )
        interrupted = False
        try:
            book.missing(missing)
            order.work = skip_and_work(book, items, outputs, skip, opts)
            if runner.name != "local":
                order.work = claim_outputs(book, order.work, outputs)
            runner.run(order, book)
        except BaseException:
            interrupted = True
            raise
        finally:
            if world == 1 and runner.name != "local":
                sweep_temp_files(out_dir)  # a killed worker's half-written files
            book.close(interrupted)
            book.fill(report)
            report.settle_manifest()
        if world > 1 and rank == 0 and not stop:
            report.manifest_path = merge_parts(out_dir, world, manifest) or manifest.path
